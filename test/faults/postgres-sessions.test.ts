import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managedContainers } from "../support/docker-helpers.ts";
import {
  callerOf,
  expectConverged,
  registerHttpd,
  transitionsByInstance,
} from "../support/fleet-checks.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { services } from "../support/services.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { expectOnKafka, followEvents, hammer } from "./fault-support.ts";

const ready = services().postgres.ok && services().kafkaMock.ok;

/**
 * Every session of the service's database is ended (pg_terminate_backend: what a failover,
 * a pooler restart or an operator does) three times while it scales 0 → 20. The server itself
 * stays up; test/alone/postgres-restart.test.ts restarts it.
 */
describe.runIf(ready)(
  "all database sessions are terminated in the middle of scaling 0 → 20",
  () => {
    const broker = useKafkaBroker();
    let server: TestServer;
    let admin: postgres.Sql;
    beforeAll(async () => {
      server = await startTestServer({
        backend: "postgres",
        env: { KAFKA_BROKERS: broker().bootstrap, KAFKA_TOPIC: "sessions-terminated" },
      });
      admin = postgres(server.databaseUrl ?? "", {
        max: 1,
        onnotice: () => {},
      });
    });
    afterAll(async () => {
      await admin?.end();
      await server?.stop();
    });

    it("answers 503 (never 500) meanwhile, recovers controller, relay and LISTENs by itself, and loses or duplicates no event and no container", async () => {
      const call = callerOf(server);
      const consumption = await broker().consume("sessions-terminated");
      const imageId = await registerHttpd(call, "twenty", { desired: 0, max: 22 });
      const stream = await followEvents(server.url, server.adminToken, imageId);
      const load = hammer(server.url, server.adminToken, imageId);

      expect(
        (await call("PATCH", `/api/images/${imageId}`, { desired_instances: 20 })).status,
      ).toBe(200);
      let terminated = 0;
      for (const atLeast of [3, 8, 13]) {
        await waitFor(
          () => managedContainers(server.orchestratorId, imageId),
          (list) => list.length >= atLeast,
          { intervalMs: 20, timeoutMs: 120_000, what: `${atLeast} containers` },
        );
        const ended = await admin<Array<{ pid: number }>>`
        with service as materialized (
          select pid from pg_stat_activity
          where datname = current_database() and usename = current_user
            and backend_type = 'client backend' and pid <> pg_backend_pid()
        )
        select pid from service where pg_terminate_backend(pid)`;
        terminated += ended.length;
      }
      expect(terminated).toBeGreaterThan(6);

      const converged = await expectConverged(call, server.orchestratorId, imageId, 20);
      const statuses = await load.stop();
      expect(statuses.other, "answers other than 200 and 503 problem+json").toEqual([]);
      expect(statuses.ok).toBeGreaterThan(0);

      const transitions = transitionsByInstance(converged.events);
      expect(transitions.size).toBe(20);
      for (const [instanceId, types] of transitions)
        expect(types, instanceId).toEqual(["container.created", "container.started"]);

      // LISTEN is back: this write is heard (the next periodic resync is minutes away), and the
      // event stream opened before the faults gets its event.
      expect(
        (await call("PATCH", `/api/images/${imageId}`, { desired_instances: 22 })).status,
      ).toBe(200);
      const final = await expectConverged(call, server.orchestratorId, imageId, 22);
      await stream.waitFor((events) =>
        events.some(
          (event) => event.type === "image.scaled" && event.data.desired_instances === 22,
        ),
      );
      stream.close();
      // Across the outage the stream lost nothing and repeated nothing.
      const streamed = stream.events.map((event) => event.seq as number);
      expect(streamed).toEqual([...new Set(streamed)].sort((a, b) => a - b));

      // The outbox: every event once in the database, all of them on Kafka in order.
      await expectOnKafka(consumption, imageId, final.events);
      await consumption.stop();
    }, 300_000);
  },
);
