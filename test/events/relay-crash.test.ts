import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/database.ts";
import { createScratchDatabase } from "../support/databases.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { backends, hasKafkaMock } from "../support/services.ts";
import { runProject } from "../support/spawn-server.ts";
import {
  allEvents,
  containerEvent,
  expectedIdsByKey,
  idsByKey,
  startTestRelay,
  uniqueTopic,
  waitForDistinct,
  writeEvents,
} from "./relay-support.ts";

type Place = {
  readonly env: Record<string, string>;
  open(): Promise<Store>;
  drop(): Promise<void>;
};

/** A database two processes can take turns on: a scratch Postgres database or a PGlite folder. */
async function sharedDatabase(backend: "pglite" | "postgres"): Promise<Place> {
  if (backend === "postgres") {
    const scratch = await createScratchDatabase();
    return {
      env: { RELAY_DATABASE_URL: scratch.url },
      open: () => openStore({ kind: "postgres", url: scratch.url }),
      drop: () => scratch.drop(),
    };
  }
  const folder = await mkdtemp(path.join(tmpdir(), "relay-crash-"));
  const dataDir = path.join(folder, "pglite");
  return {
    env: { RELAY_PGLITE_DIR: dataDir },
    open: () => openStore({ kind: "pglite", dataDir }),
    drop: () => rm(folder, { recursive: true, force: true }),
  };
}

/** Starts test/events/relay-child.ts and resolves once its output matches `ready`. */
async function startChild(env: Record<string, string>, ready: RegExp) {
  const child = runProject(["test/events/relay-child.ts"], env);
  const deadline = Date.now() + 60_000;
  while (!ready.test(child.output().stdout)) {
    if (Date.now() > deadline || child.child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(
        `relay child never logged ${ready}:\n${child.output().stdout}\n${child.output().stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return child;
}

describe.runIf(hasKafkaMock())("event relay: crash safety", () => {
  const broker = useKafkaBroker();

  describe.each(backends())("on %s", (backend) => {
    it("delivers every event after the relay process is killed with SIGKILL mid-flight", async () => {
      const place = await sharedDatabase(backend);
      const topic = uniqueTopic();
      try {
        let store = await place.open();
        for (let chunk = 0; chunk < 20; chunk++) {
          await writeEvents(
            store,
            Array.from({ length: 100 }, (_, index) =>
              containerEvent(400 + (index % 7), chunk * 100 + index),
            ),
          );
        }
        await store.close();

        const child = await startChild(
          {
            ...place.env,
            KAFKA_BROKERS: broker().bootstrap,
            KAFKA_TOPIC: topic,
            RELAY_BATCH_SIZE: "20",
          },
          /"msg":"events published"/,
        );
        child.kill("SIGKILL");
        expect((await child.exited).signal).toBe("SIGKILL");

        store = await place.open();
        const left = (await allEvents(store)).filter((row) => row.published_at === null).length;
        expect(left).toBeGreaterThan(0);
        const relay = await startTestRelay(store, broker().brokers, topic);
        await relay.flush({ timeoutMs: 60_000 });
        await relay.stop();
        const rows = await allEvents(store);
        await store.close();
        expect(rows.every((row) => row.published_at !== null)).toBe(true);

        const consumption = await broker().consume(topic);
        await waitForDistinct(consumption, rows.length);
        await consumption.stop();
        // At least once, and every image's events in order of their first delivery.
        expect(idsByKey(consumption.messages)).toEqual(expectedIdsByKey(rows));
      } finally {
        await place.drop();
      }
    });

    it("delivers every event after a relay killed while the broker was down", async () => {
      const place = await sharedDatabase(backend);
      const topic = uniqueTopic();
      try {
        const writer = await place.open();
        for (let step = 0; step < 10; step++) {
          await writeEvents(writer, [containerEvent(500 + (step % 2), step)]);
        }
        await writer.close();
        await broker().down();
        const child = await startChild(
          { ...place.env, KAFKA_BROKERS: broker().bootstrap, KAFKA_TOPIC: topic },
          /"msg":"event publishing failed; events wait in the database and will be retried"/,
        );
        child.kill("SIGKILL");
        await child.exited;
        await broker().up();

        const store = await place.open();
        const relay = await startTestRelay(store, broker().brokers, topic);
        await relay.flush({ timeoutMs: 60_000 });
        await relay.stop();
        const rows = await allEvents(store);
        await store.close();
        expect(rows).toHaveLength(10);
        expect(rows.every((row) => row.published_at !== null)).toBe(true);
        const consumption = await broker().consume(topic);
        await consumption.waitFor(10);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await consumption.stop();
        expect(consumption.messages).toHaveLength(10);
        expect(idsByKey(consumption.messages)).toEqual(expectedIdsByKey(rows));
      } finally {
        await broker().up();
        await place.drop();
      }
    });
  });
});
