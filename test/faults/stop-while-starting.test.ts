import { describe, expect, it } from "vitest";
import { capturedLogger } from "../events/relay-support.ts";
import { metricValue } from "../support/metrics-text.ts";
import { dockerSocketPath } from "../support/service-control.ts";
import { hasDocker } from "../support/services.ts";
import { startSocketProxy } from "../support/socket-proxy.ts";
import { startTestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/**
 * A stop that comes while the controller's first list of Docker and the database is on the
 * wire (an embedding program that creates the engine and shuts it down at once did this in
 * CI): stop waits for that list, since it reads through the store closed next; its failure is
 * the end of the term's start, not a reason to warn and retry, nor to start the watchers and
 * monitors of a term that is over. The service reaches Docker through a proxy the test
 * controls, which holds the list until the term has ended.
 */
describe.runIf(hasDocker())("a stop while the controller's first list is on the wire", () => {
  it("waits for the list, then ends the start quietly: no warning, no retry, nothing started", async () => {
    const proxy = await startSocketProxy({ path: dockerSocketPath() });
    const logs = capturedLogger("debug");
    const startEnded = () =>
      logs.lines().some((line) => /controller stopped while starting/.test(line.msg));
    try {
      proxy.blackhole();
      const server = await startTestServer({
        logger: logs.logger,
        // Stop's grace: a minute, far more than the list needs once the proxy lets it go.
        env: { DOCKER_HOST: proxy.address, SHUTDOWN_TIMEOUT_SECONDS: "64" },
      });
      await waitFor(
        async () => proxy.swallowed(),
        (sent) => /GET \S*\/containers\/json/.test(sent),
        { what: "the controller's first list of containers" },
      );
      let endedWhenStopReturned: boolean | undefined;
      const stopping = server.stop().then(() => {
        endedWhenStopReturned = startEnded();
      });
      // The term has ended (this process no longer leads); stop still waits for the list.
      await waitFor(
        async () =>
          metricValue(
            await server.service.metrics.registry.metrics(),
            "orchestrator_controller_leader",
          ),
        (leader) => leader === 0,
        { what: "the term to end" },
      );
      expect(endedWhenStopReturned).toBeUndefined();
      // The held list's connection ends now: the list fails (or, retried, answers) in a term
      // already over.
      proxy.restore();
      await stopping;
      expect(endedWhenStopReturned).toBe(true);
      const controller = logs.lines().filter((line) => line.component === "controller");
      expect(controller.filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([]);
      expect(controller.map((line) => line.msg)).not.toContain("controller started");
      expect(controller.map((line) => line.msg)).toContain("leading: starting the controller");
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
