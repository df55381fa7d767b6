import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { backends, hasKafkaMock } from "../support/services.ts";
import { waitFor } from "../support/wait.ts";
import {
  allEvents,
  containerEvent,
  openTestDatabase,
  startTestRelay,
  uniqueTopic,
  waitForDistinct,
  writeEvents,
} from "./relay-support.ts";

describe.runIf(hasKafkaMock())("event relay: retention", () => {
  const broker = useKafkaBroker();

  describe.each(backends())("on %s", (backend) => {
    it("prunes published events past the retention and never an unpublished or failed one", async () => {
      const database = await openTestDatabase(backend);
      const { store } = database;
      const topic = uniqueTopic();
      const relay = await startTestRelay(store, broker().brokers, topic, {
        retentionDays: 7,
        pruneIntervalMs: 200,
        maxMessageBytes: 4_000,
      });
      try {
        // The fourth is too large for the broker: the relay marks it failed.
        await writeEvents(
          store,
          [1, 2, 3, 4, 5].map((step) =>
            containerEvent(21, step, step === 4 ? { error: "x".repeat(10_000) } : {}),
          ),
        );
        await relay.flush();
        await broker().down();
        await writeEvents(store, [containerEvent(21, 6), containerEvent(21, 7)]);
        const rows = await allEvents(store);
        const old = rows.filter((row) => row.seq !== rows[4]?.seq).map((row) => row.seq);
        expect(rows.map((row) => row.failed_at !== null)).toEqual([
          false,
          false,
          false,
          true,
          false,
          false,
          false,
        ]);
        // Ten days old: three published, one failed, two pending; one of the published ones
        // stays recent. Failed first, aged after: the pruner runs meanwhile and must never see
        // the failed event as old and published.
        await store.db
          .updateTable("events")
          .set({ time: sql`now() - interval '10 days'` })
          .where("seq", "in", old)
          .execute();

        const kept = await waitFor(
          () => allEvents(store),
          (events) => events.length <= 4,
          { what: "the old published events pruned", timeoutMs: 60_000 },
        );
        expect(kept.map((row) => row.seq)).toEqual(
          [rows[3], rows[4], rows[5], rows[6]].map((row) => row!.seq),
        );
        expect(await relay.prune()).toBe(0);

        await broker().up();
        await relay.flush({ timeoutMs: 30_000 });
        // The two that waited reached the broker, although past the retention. Once published,
        // they are fair game for the pruner (every 200 ms here), so Kafka is where to look.
        const waited = [rows[5]!.id, rows[6]!.id];
        // Read from the topic's start once the broker is back: a consumer that lived through
        // the outage would first wait out its own reconnection back-off (up to a minute).
        const consumption = await broker().consume(topic);
        await waitForDistinct(consumption, 6); // all but the failed one
        const delivered = new Set(consumption.messages.map((message) => message.event?.id));
        expect(waited.filter((id) => !delivered.has(id))).toEqual([]);
        // Nothing pending is left; the failed one is kept and was never published.
        const left = await allEvents(store);
        expect(left.filter((row) => row.published_at === null).map((row) => row.seq)).toEqual([
          rows[3]!.seq,
        ]);
      } finally {
        await broker().up();
        await relay.stop();
        await database.close();
      }
    });
  });
});
