import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOnKafka, followEvents, hammer } from "../faults/fault-support.ts";
import { managedContainers } from "../support/docker-helpers.ts";
import {
  callerOf,
  expectConverged,
  registerHttpd,
  transitionsByInstance,
} from "../support/fleet-checks.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { stopPostgresServer } from "../support/service-control.ts";
import { postgresUrl, services } from "../support/services.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const ready = services().postgres.ok && services().kafkaMock.ok;

/**
 * A real restart of the Postgres server every suite uses (a fast shutdown, as `pg_ctl stop -m
 * fast`), in the middle of scaling 0 → 20. It runs alone, after every other suite.
 */
describe.runIf(ready)("the Postgres server restarts in the middle of scaling 0 → 20", () => {
  const broker = useKafkaBroker();
  let server: TestServer;
  let startPostgres: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    server = await startTestServer({
      backend: "postgres",
      env: { KAFKA_BROKERS: broker().bootstrap, KAFKA_TOPIC: "postgres-restart" },
    });
  });
  afterAll(async () => {
    await startPostgres?.();
    await server?.stop();
  });

  it("answers 503 problem+json while it is down, recovers by itself, and loses or duplicates no event and no container", async () => {
    const call = callerOf(server);
    const consumption = await broker().consume("postgres-restart");
    const imageId = await registerHttpd(call, "twenty", { desired: 0, max: 22 });
    const stream = await followEvents(server.url, server.adminToken, imageId);
    const load = hammer(server.url, server.adminToken, imageId);
    expect((await call("PATCH", `/api/images/${imageId}`, { desired_instances: 20 })).status).toBe(
      200,
    );
    await waitFor(
      () => managedContainers(server.orchestratorId, imageId),
      (list) => list.length >= 5,
      { intervalMs: 20, what: "the scale-up under way" },
    );

    startPostgres = await stopPostgresServer(postgresUrl());
    // While it is down: 503 problem+json, and /readyz names the database.
    await waitFor(
      async () => load.answers.unavailable,
      (count) => count >= 5,
      { what: "503s while the database is down" },
    );
    const readiness = await fetch(`${server.url}/readyz`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(readiness.status).toBe(503);
    expect(((await readiness.json()) as any).down).toContain("database");
    await startPostgres();

    const converged = await expectConverged(call, server.orchestratorId, imageId, 20);
    const answers = await load.stop();
    expect(answers.other, "answers other than 200 and 503 problem+json").toEqual([]);
    const transitions = transitionsByInstance(converged.events);
    expect(transitions.size).toBe(20);
    for (const [instanceId, types] of transitions)
      expect(types, instanceId).toEqual(["container.created", "container.started"]);

    // LISTENs are back: this write is heard, and the stream opened before the restart sees it.
    expect((await call("PATCH", `/api/images/${imageId}`, { desired_instances: 22 })).status).toBe(
      200,
    );
    const final = await expectConverged(call, server.orchestratorId, imageId, 22);
    await stream.waitFor((events) =>
      events.some((event) => event.type === "image.scaled" && event.data.desired_instances === 22),
    );
    stream.close();
    // Across the outage the stream lost nothing and repeated nothing.
    const streamed = stream.events.map((event) => event.seq as number);
    expect(streamed).toEqual([...new Set(streamed)].sort((a, b) => a - b));
    await expectOnKafka(consumption, imageId, final.events);
    await consumption.stop();
  }, 300_000);
});
