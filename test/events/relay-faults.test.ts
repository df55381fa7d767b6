import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/metrics/registry.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { backends, hasKafkaMock } from "../support/services.ts";
import { waitFor } from "../support/wait.ts";
import {
  allEvents,
  containerEvent,
  expectedIdsByKey,
  idsByKey,
  openTestDatabase,
  startTestRelay,
  uniqueTopic,
  writeEvents,
} from "./relay-support.ts";

const messageTooLarge = 10;
const leaderNotAvailable = 5;
const invalidRecord = 87;

describe.runIf(hasKafkaMock())("event relay: faults", () => {
  const broker = useKafkaBroker();

  describe.each(backends())("on %s", (backend) => {
    it("keeps events while the broker is down and delivers all of them, in order and once, when it returns", async () => {
      const database = await openTestDatabase(backend);
      const topic = uniqueTopic();
      const metrics = createMetrics();
      const relay = await startTestRelay(database.store, broker().brokers, topic, { metrics });
      try {
        await writeEvents(database.store, [containerEvent(1, 0)]);
        await relay.flush();

        await broker().down();
        const started = Date.now();
        for (let step = 1; step <= 10; step++) {
          await writeEvents(database.store, [containerEvent(step % 2 === 0 ? 1 : 2, step)]);
        }
        // The service keeps writing while Kafka is away: no write waited for the broker.
        expect(Date.now() - started).toBeLessThan(2_000);
        // The relay tries, fails, and records why; the rows wait (polled, not slept on).
        const waiting = await waitFor(
          () => allEvents(database.store),
          (rows) => rows.some((row) => row.publish_attempts > 0 && row.publish_error !== null),
          { what: "a failed attempt on record" },
        );
        expect(waiting.filter((row) => row.published_at === null)).toHaveLength(10);
        const text = await waitFor(
          () => metrics.registry.metrics(),
          (scrape) =>
            Number(
              /^orchestrator_events_oldest_unpublished_age_seconds (\S+)$/m.exec(scrape)?.[1],
            ) > 1,
          { what: "the oldest unpublished event to be over a second old" },
        );
        expect(text).toMatch(/^orchestrator_events_unpublished 10$/m);
        const age = Number(
          /^orchestrator_events_oldest_unpublished_age_seconds (\S+)$/m.exec(text)?.[1],
        );
        expect(age).toBeGreaterThan(1);

        await broker().up();
        await relay.flush({ timeoutMs: 30_000 });
        const consumption = await broker().consume(topic);
        const messages = await consumption.waitFor(11);
        await consumption.stop();
        expect(messages).toHaveLength(11);
        const rows = await allEvents(database.store);
        expect(rows.every((row) => row.published_at !== null && row.failed_at === null)).toBe(true);
        expect(idsByKey(messages)).toEqual(expectedIdsByKey(rows));
      } finally {
        await broker().up();
        await relay.stop();
        await database.close();
      }
    });

    it("follows a broker that comes back at once, however long its back-off", async () => {
      const database = await openTestDatabase(backend);
      const topic = uniqueTopic();
      // A back-off of 10 minutes: only the broker's return can end it within this test.
      const relay = await startTestRelay(database.store, broker().brokers, topic, {
        backoff: { initialMs: 600_000, maxMs: 600_000 },
        // The safety poll and NOTIFY wake an idle relay only, never one backing off.
        pollIntervalMs: 1_000,
      });
      try {
        await writeEvents(database.store, [containerEvent(3, 0)]);
        await relay.flush();

        await broker().down();
        await writeEvents(database.store, [containerEvent(3, 1), containerEvent(3, 2)]);
        await waitFor(
          () => allEvents(database.store),
          (rows) => rows.some((row) => row.publish_attempts > 0 && row.publish_error !== null),
          { what: "a failed attempt on record" },
        );
        // Written during the back-off: NOTIFY must not end it either (it is the broker's).
        await writeEvents(database.store, [containerEvent(3, 3)]);
        await broker().up();

        // Polled, not flushed: a flush would end the back-off by itself.
        const rows = await waitFor(
          () => allEvents(database.store),
          (all) => all.every((row) => row.published_at !== null),
          { what: "every event published after the broker's return", timeoutMs: 90_000 },
        );
        expect(rows.every((row) => row.failed_at === null)).toBe(true);
        const consumption = await broker().consume(topic);
        const messages = await consumption.waitFor(4);
        await consumption.stop();
        expect(idsByKey(messages)).toEqual(expectedIdsByKey(rows));
      } finally {
        await broker().up();
        await relay.stop();
        await database.close();
      }
    });

    it("rides out retriable broker errors without losing or reordering events", async () => {
      const database = await openTestDatabase(backend);
      const topic = uniqueTopic();
      const relay = await startTestRelay(database.store, broker().brokers, topic);
      try {
        await writeEvents(database.store, [containerEvent(5, 0)]);
        await relay.flush();
        // More failures than kafkajs retries by itself: the relay has to back off and retry.
        await broker().produceErrors(8, leaderNotAvailable);
        await writeEvents(database.store, [containerEvent(5, 1), containerEvent(5, 2)]);
        await writeEvents(database.store, [containerEvent(5, 3)]);
        await relay.flush({ timeoutMs: 30_000 });
        const rows = await allEvents(database.store);
        expect(rows.slice(1).every((row) => row.publish_attempts >= 2)).toBe(true);
        const consumption = await broker().consume(topic);
        const messages = await consumption.waitFor(4);
        await consumption.stop();
        expect(idsByKey(messages)).toEqual(expectedIdsByKey(rows));
      } finally {
        await relay.stop();
        await database.close();
      }
    });

    it("marks a message that is too large failed and still delivers the rest of its image's events", async () => {
      const database = await openTestDatabase(backend);
      const topic = uniqueTopic();
      const metrics = createMetrics();
      const relay = await startTestRelay(database.store, broker().brokers, topic, {
        metrics,
        maxMessageBytes: 4_000,
      });
      try {
        await writeEvents(database.store, [
          containerEvent(9, 1),
          containerEvent(9, 2, { error: "x".repeat(10_000) }),
          containerEvent(9, 3),
        ]);
        await relay.flush();
        const rows = await allEvents(database.store);
        expect(rows.map((row) => [row.published_at !== null, row.failed_at !== null])).toEqual([
          [true, false],
          [false, true],
          [true, false],
        ]);
        expect(rows[1]?.publish_error).toMatch(/^MESSAGE_TOO_LARGE: message of \d+ bytes/);
        const consumption = await broker().consume(topic);
        const messages = await consumption.waitFor(2);
        await consumption.stop();
        expect(messages.map((message) => message.event.id)).toEqual([rows[0]?.id, rows[2]?.id]);
        const text = await metrics.registry.metrics();
        expect(text).toMatch(/^orchestrator_events_failed_total 1$/m);
        expect(text).toMatch(/^orchestrator_events_unpublished 0$/m);
      } finally {
        await relay.stop();
        await database.close();
      }
    });

    it("narrows a batch the broker rejects down to the message it rejects on its own", async () => {
      const database = await openTestDatabase(backend);
      const topic = uniqueTopic();
      const relay = await startTestRelay(database.store, broker().brokers, topic);
      try {
        await writeEvents(database.store, [containerEvent(11, 0)]);
        await relay.flush();
        // The batch of three fails, then the first message alone fails too: only it is poison.
        await broker().produceErrors(2, messageTooLarge);
        await writeEvents(database.store, [
          containerEvent(11, 1),
          containerEvent(11, 2),
          containerEvent(11, 3),
        ]);
        await relay.flush();
        // A batch rejected once but accepted message by message loses nothing.
        await broker().produceErrors(1, invalidRecord);
        await writeEvents(database.store, [containerEvent(11, 4), containerEvent(11, 5)]);
        await relay.flush();
        await writeEvents(database.store, [containerEvent(11, 6)]);
        await relay.flush();

        const rows = await allEvents(database.store);
        expect(rows.map((row) => row.failed_at !== null)).toEqual([
          false,
          true,
          false,
          false,
          false,
          false,
          false,
        ]);
        expect(rows[1]?.publish_error).toMatch(/^MESSAGE_TOO_LARGE: /);
        const consumption = await broker().consume(topic);
        const messages = await consumption.waitFor(6);
        await consumption.stop();
        const delivered = rows.filter((row) => row.failed_at === null);
        expect(messages.map((message) => message.event.id)).toEqual(delivered.map((row) => row.id));
      } finally {
        await relay.stop();
        await database.close();
      }
    });
  });
});
