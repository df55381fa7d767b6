import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker } from "../support/docker-helpers.ts";
import {
  callerOf,
  expectConverged,
  registerHttpd,
  transitionsByInstance,
} from "../support/fleet-checks.ts";
import { metricValue } from "../support/metrics-text.ts";
import { releaseHiddenRootfsMounts, stopDockerEngine } from "../support/service-control.ts";
import { backends } from "../support/services.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/**
 * A real restart of the Docker engine (SIGTERM, as its service manager stops it: it stops every
 * container), under one service per database backend with 10 instances each. It runs alone,
 * after every other suite (the "alone" project): the engine is everyone's.
 */
describe("the Docker engine restarts under 10 running instances", () => {
  let servers: TestServer[] = [];
  let startEngine: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    servers = await Promise.all(backends().map((backend) => startTestServer({ backend })));
  });
  afterAll(async () => {
    await startEngine?.();
    // A start the engine took while stopping can leave a container it cannot remove (its
    // rootfs mounted where the next engine cannot see it): release it before the cleanup.
    const released = await releaseHiddenRootfsMounts((await docker.info()).DockerRootDir);
    if (released.length > 0) console.warn(`unmounted rootfs the engine could not see: ${released}`);
    for (const server of servers) await server.stop();
  });

  it("keeps the API up and says Docker is down; on return it restarts what the engine stopped, to exactly the desired count, with every transition recorded", async () => {
    const fleets = await Promise.all(
      servers.map(async (server) => {
        const call = callerOf(server);
        const imageId = await registerHttpd(call, "steady", { desired: 10, max: 20 });
        const before = await expectConverged(call, server.orchestratorId, imageId, 10);
        return { server, call, imageId, before };
      }),
    );
    const errors = async (server: TestServer) =>
      metricValue(
        await server.service.metrics.registry.metrics(),
        "orchestrator_reconcile_errors_total",
      );
    const errorsBefore = await Promise.all(servers.map(errors));

    startEngine = await stopDockerEngine();

    for (const { server, call, imageId } of fleets) {
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
      expect((await call("GET", "/api/images")).status).toBe(200);
      expect(
        (await call("PATCH", `/api/images/${imageId}`, { desired_instances: 11 })).status,
      ).toBe(200);
      await waitFor(
        () => server.service.metrics.registry.metrics(),
        (text) =>
          metricValue(text, "orchestrator_docker_engine_up") === 0 &&
          metricValue(text, "orchestrator_workqueue_in_flight") === 1,
        { what: "the write's reconcile to wait for the engine" },
      );
    }

    await startEngine();

    for (const [index, { server, call, imageId, before }] of fleets.entries()) {
      const after = await expectConverged(call, server.orchestratorId, imageId, 11);
      // Calm while it was away: at most one failure (met before the watch knew), then it waited.
      expect((await errors(server)) - (errorsBefore[index] ?? 0)).toBeLessThanOrEqual(1);
      // The engine stopped the ten; the controller brought the same ten instances back: their
      // containers started again, or replaced where the engine kept a dead task of them.
      const instanceOf = (container: { Labels: Record<string, string> }) =>
        container.Labels[labelKeys.instanceId] ?? "";
      const beforeInstances = new Set(before.containers.map(instanceOf));
      expect(after.containers.filter((c) => beforeInstances.has(instanceOf(c)))).toHaveLength(10);
      const transitions = transitionsByInstance(after.events);
      expect(transitions.size).toBe(11);
      for (const container of after.containers) {
        const instanceId = instanceOf(container);
        const types = transitions.get(instanceId) ?? [];
        if (!beforeInstances.has(instanceId)) {
          expect(types, instanceId).toEqual(["container.created", "container.started"]);
          continue;
        }
        expect(types.slice(0, 2), instanceId).toEqual(["container.created", "container.started"]);
        expect(["container.failed", "container.stopped"], instanceId).toContain(types[2]);
        // Back: started again, or replaced where the engine kept a dead task; a start the
        // returning engine undid (it may still be cleaning up) is recorded and healed once more.
        expect(isRecovery(types.slice(2)), `${instanceId}: ${types.join(" → ")}`).toBe(true);
      }
      // The event stream is back: a kill now heals without waiting for a resync.
      const victim = after.containers[0];
      const restartsBefore = after.records.find(
        (record) => record.container_id === victim?.Id,
      )?.restart_count;
      await docker.getContainer(victim?.Id ?? "").kill();
      await waitFor(
        () => call("GET", `/api/images/${imageId}/containers`).then((r) => r.body.items as any[]),
        (items) =>
          items.some(
            (item) =>
              item.container_id === victim?.Id &&
              item.observed_state === "running" &&
              item.restart_count > restartsBefore,
          ),
        { timeoutMs: 60_000, what: "the container killed after the restart to be restarted" },
      );
    }
  }, 300_000);
});

/** What may follow a container's stop by the engine: each step a real transition, ending started. */
const next: Record<string, readonly string[]> = {
  "container.failed": ["container.started", "container.removed"],
  "container.stopped": ["container.started", "container.removed"],
  "container.removed": ["container.created"],
  "container.created": ["container.started"],
  "container.started": ["container.failed", "container.stopped"],
};

/** At most two rounds of healing after the return, every step allowed, ending started. */
function isRecovery(types: readonly string[]): boolean {
  if (types.length > 8 || types.at(-1) !== "container.started") return false;
  return types.every(
    (type, index) => index === 0 || (next[types[index - 1] ?? ""] ?? []).includes(type),
  );
}
