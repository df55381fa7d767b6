import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createScratchDatabase } from "../support/databases.ts";
import { managedContainers } from "../support/docker-helpers.ts";
import { expectConverged, registerHttpd, transitionsByInstance } from "../support/fleet-checks.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { metricValue } from "../support/metrics-text.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { services } from "../support/services.ts";
import { apiCaller, type SpawnedServer, spawnServer } from "../support/spawn-server.ts";
import { removeManagedContainers } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { expectOnKafka } from "./fault-support.ts";

const ready = services().postgres.ok && services().kafkaMock.ok;

describe.runIf(ready)("two service processes on one Postgres", () => {
  const broker = useKafkaBroker();
  const suffix = randomBytes(3).toString("hex");
  const orchestratorId = testOrchestratorId("failover");
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await removeManagedContainers(orchestratorId);
  });

  const isLeading = async (server: SpawnedServer, token: string) => {
    const response = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return metricValue(await response.text(), "orchestrator_controller_leader") === 1;
  };

  it("both serve the API; kill -9 of the leader mid scale-up: the other leads within 10 s, converges with no duplicate and no orphan, and its relay publishes every event", async () => {
    const database = await createScratchDatabase();
    cleanups.push(database.drop);
    const topic = `failover-${suffix}`;
    const adminToken = `orc_${randomBytes(24).toString("hex")}`;
    const start = async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), "orch-failover-"));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const server = await spawnServer({
        DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        ORCHESTRATOR_ID: orchestratorId,
        ORCHESTRATOR_ADMIN_TOKEN: adminToken,
        KAFKA_BROKERS: broker().bootstrap,
        KAFKA_TOPIC: topic,
        LOG_LEVEL: "warn",
        STOP_TIMEOUT_SECONDS: "1",
      });
      cleanups.push(async () => {
        server.kill("SIGKILL");
        await server.exited;
      });
      return server;
    };
    const servers = [await start(), await start()];
    const consumption = await broker().consume(topic);
    cleanups.push(() => consumption.stop());

    // Exactly one leads; both answer the API.
    await waitFor(
      () => Promise.all(servers.map((server) => isLeading(server, adminToken))),
      (leading) => leading.filter(Boolean).length === 1,
      { what: "one leader" },
    );
    const leading = await Promise.all(servers.map((server) => isLeading(server, adminToken)));
    const leader = servers[leading.indexOf(true)] as SpawnedServer;
    const follower = servers[leading.indexOf(false)] as SpawnedServer;
    const viaLeader = apiCaller(() => leader.url, adminToken);
    const call = apiCaller(() => follower.url, adminToken);
    expect((await viaLeader("GET", "/api/images")).status).toBe(200);

    // The scale-up is asked of the follower: its NOTIFY reaches the leader's controller.
    const imageId = await registerHttpd(call, "fleet", { desired: 0, max: 10 });
    expect((await call("PATCH", `/api/images/${imageId}`, { desired_instances: 10 })).status).toBe(
      200,
    );
    const seen = await waitFor(
      () => managedContainers(orchestratorId, imageId),
      (list) => list.length >= 3,
      { intervalMs: 20, what: "the scale-up under way" },
    );
    leader.kill("SIGKILL");
    await leader.exited;
    const killedAt = Date.now();
    expect(seen.length).toBeLessThan(10);

    await waitFor(() => isLeading(follower, adminToken), Boolean, {
      intervalMs: 100,
      what: "the survivor to lead",
    });
    expect(Date.now() - killedAt, "failover time").toBeLessThan(10_000);

    const converged = await expectConverged(call, orchestratorId, imageId, 10);
    const transitions = transitionsByInstance(converged.events);
    expect(transitions.size).toBe(10);
    for (const [instanceId, types] of transitions) {
      expect(types, instanceId).toEqual(["container.created", "container.started"]);
    }

    // The relay failed over too: every event of the database reached Kafka, in order.
    await expectOnKafka(consumption, imageId, converged.events);
  }, 300_000);
});
