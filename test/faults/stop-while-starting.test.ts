import { describe, expect, it } from "vitest";
import { capturedLogger } from "../events/relay-support.ts";
import { dockerSocketPath } from "../support/service-control.ts";
import { hasDocker } from "../support/services.ts";
import { startSocketProxy } from "../support/socket-proxy.ts";
import { startTestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/**
 * A stop that comes while the controller's first list of Docker and the database is on the
 * wire (an embedding program that creates the engine and shuts it down at once did this in
 * CI): the list fails after stop closed what it reads, and that is the end of the term, not a
 * reason to warn and retry, nor to start the watchers and monitors of a term that is over.
 * The service reaches Docker through a proxy the test controls, which holds the list.
 */
describe.runIf(hasDocker())("a stop while the controller's first list is on the wire", () => {
  it("ends the start quietly: no warning, no retry, nothing started after stop", async () => {
    const proxy = await startSocketProxy({ path: dockerSocketPath() });
    const logs = capturedLogger("debug");
    try {
      proxy.blackhole();
      const server = await startTestServer({
        logger: logs.logger,
        // Stop's grace is its floor (1 s): it waits that long for the held list.
        env: { DOCKER_HOST: proxy.address, SHUTDOWN_TIMEOUT_SECONDS: "5" },
      });
      await waitFor(
        async () => proxy.swallowed(),
        (sent) => /GET \S*\/containers\/json/.test(sent),
        { what: "the controller's first list of containers" },
      );
      await server.stop();
      // The held list's connection ends now: the list fails, in a term already over.
      proxy.restore();
      await waitFor(
        async () => logs.lines(),
        (lines) => lines.some((line) => /stopped while its first list/.test(line.msg)),
        { what: "the controller's start to end", describe: (lines) => lines.map((l) => l.msg) },
      );
      const controller = logs.lines().filter((line) => line.component === "controller");
      expect(controller.filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([]);
      expect(controller.map((line) => line.msg)).not.toContain("controller started");
      expect(controller.map((line) => line.msg)).toContain("leading: starting the controller");
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
