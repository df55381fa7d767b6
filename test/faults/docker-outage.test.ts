import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, managedContainers } from "../support/docker-helpers.ts";
import {
  callerOf,
  expectConverged,
  registerHttpd,
  transitionsByInstance,
} from "../support/fleet-checks.ts";
import { metricValue } from "../support/metrics-text.ts";
import { dockerSocketPath } from "../support/service-control.ts";
import { backends } from "../support/services.ts";
import { type SocketProxy, startSocketProxy } from "../support/socket-proxy.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/**
 * The service reaches Docker through a proxy this test controls (DOCKER_HOST), so the engine
 * can vanish for the service alone: connections reset, new ones refused, while the containers
 * keep running and the test still reaches the engine directly to act behind the service's back.
 * (test/alone/engine-restart.test.ts restarts the real engine.)
 */
describe.each(backends())(
  "the Docker engine's socket is cut while 10 instances run (%s)",
  (backend) => {
    let proxy: SocketProxy;
    let server: TestServer;
    beforeAll(async () => {
      proxy = await startSocketProxy({ path: dockerSocketPath() });
      // Health samples every 2 s: a monitor that kept asking for the stats of 10 containers
      // while the engine is away would try dozens of connections in the window below.
      server = await startTestServer({
        backend,
        env: { DOCKER_HOST: proxy.address, HEALTH_INTERVAL_SECONDS: "2" },
      });
    });
    afterAll(async () => {
      proxy?.restore();
      await server?.stop();
      await proxy?.close();
    });

    it("keeps the API up, says Docker is down, waits calmly, and on return heals to exactly the desired count with every transition recorded", async () => {
      const call = callerOf(server);
      const metrics = async () => server.service.metrics.registry.metrics();
      const imageId = await registerHttpd(call, "steady", { desired: 10, max: 20 });
      const before = await expectConverged(call, server.orchestratorId, imageId, 10);

      const errorsBeforeCut = metricValue(await metrics(), "orchestrator_reconcile_errors_total");
      proxy.cut();

      // /readyz names Docker, and only Docker, as down; the API keeps answering.
      const readiness = await waitFor(
        () =>
          fetch(`${server.url}/readyz`, {
            headers: { authorization: `Bearer ${server.adminToken}` },
          }).then(async (r) => ({
            status: r.status,
            body: (await r.json()) as any,
          })),
        (r) => r.status === 503,
        { what: "/readyz to say Docker is down" },
      );
      expect(readiness.body.down).toEqual(["docker"]);
      expect(readiness.body.checks.docker.error).toMatch(/Docker engine/);
      expect(readiness.body.checks.database.ok).toBe(true);

      // Behind its back: three containers die. And a desired-state write arrives.
      const victims = before.containers.slice(0, 3);
      await Promise.all(victims.map((container) => docker.getContainer(container.Id).kill()));
      const patched = await call("PATCH", `/api/images/${imageId}`, { desired_instances: 12 });
      expect(patched.status).toBe(200);
      expect((await call("GET", `/api/images/${imageId}`)).status).toBe(200);

      // The write's key waits for the engine (in flight, parked, not failing over and over).
      // The reconcile that met the cut may still be retrying its Docker calls (each up to 4
      // tries, bounded): the count starts once the key is parked.
      await waitFor(
        metrics,
        (text) =>
          metricValue(text, "orchestrator_docker_engine_up") === 0 &&
          metricValue(text, "orchestrator_workqueue_in_flight") === 1 &&
          metricValue(text, "orchestrator_reconciles_waiting_for_engine") === 1,
        { what: "the write's reconcile to wait for the engine" },
      );
      const attemptsAtStart = proxy.attemptsWhileAway();
      // An outage of a fixed length (what is measured, not a synchronisation): the API answers
      // all along, and the controller neither retries every key nor hammers the socket.
      const windowMs = 10_000;
      const windowEnd = Date.now() + windowMs;
      let answered = 0;
      while (Date.now() < windowEnd) {
        const list = await call("GET", "/api/images");
        expect(list.status).toBe(200);
        answered += 1;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(answered).toBeGreaterThan(5);
      // At most one failure per key (meeting the engine's absence before the watch knew), then
      // it waits: one image here, so at most one failure in the whole outage.
      const text = await metrics();
      const failures = metricValue(text, "orchestrator_reconcile_errors_total") - errorsBeforeCut;
      expect(failures, "reconcile failures while the engine was away").toBeLessThanOrEqual(1);
      expect(
        metricValue(text, "orchestrator_reconcile_errors_total", { reason: "EngineUnreachable" }),
      ).toBe(failures);
      // Engine watch pings every 2 s, the event stream reconnects with back-off: about 6–8
      // connections in 10 s. A controller retrying its keys, or a health monitor sampling
      // every container, would make dozens.
      expect(
        proxy.attemptsWhileAway() - attemptsAtStart,
        "connections tried while the engine was away",
      ).toBeLessThanOrEqual(12);

      proxy.restore();

      const after = await expectConverged(call, server.orchestratorId, imageId, 12);
      await waitFor(
        () =>
          fetch(`${server.url}/readyz`, {
            headers: { authorization: `Bearer ${server.adminToken}` },
          }).then((r) => r.status),
        (status) => status === 200,
        { what: "/readyz to be ready again" },
      );
      // The three it did not see die were restarted (same containers), not replaced.
      const victimIds = new Set(victims.map((victim) => victim.Id));
      expect(after.containers.filter((container) => victimIds.has(container.Id))).toHaveLength(3);
      const transitions = transitionsByInstance(after.events);
      expect(transitions.size).toBe(12);
      for (const container of after.containers) {
        const instanceId = container.Labels[labelKeys.instanceId] ?? "";
        const types = transitions.get(instanceId);
        if (victimIds.has(container.Id)) {
          expect(types?.slice(0, 2), instanceId).toEqual([
            "container.created",
            "container.started",
          ]);
          expect(types?.slice(2), instanceId).toEqual(["container.failed", "container.started"]);
        } else {
          expect(types, instanceId).toEqual(["container.created", "container.started"]);
        }
      }

      // The event stream is back: a container killed now heals without waiting for a resync.
      const next = after.containers.find((container) => !victimIds.has(container.Id));
      await docker.getContainer(next?.Id ?? "").kill();
      await waitFor(
        () => call("GET", `/api/images/${imageId}/containers`).then((r) => r.body.items as any[]),
        (items) => items.some((item) => item.container_id === next?.Id && item.restart_count === 1),
        { timeoutMs: 60_000, what: "the container killed after the return to be restarted" },
      );
      expect(await managedContainers(server.orchestratorId, imageId)).toHaveLength(12);
    }, 300_000);
  },
);
