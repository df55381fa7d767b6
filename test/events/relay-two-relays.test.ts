import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/metrics/registry.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { hasKafkaMock, services } from "../support/services.ts";
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

describe.runIf(hasKafkaMock() && services().postgres.ok)(
  "event relay: two processes, one Postgres",
  () => {
    const broker = useKafkaBroker();

    it("delivers each event once and keeps every image's order", async () => {
      const database = await openTestDatabase("postgres");
      const other = await database.openAnother();
      const topic = uniqueTopic();
      const consumption = await broker().consume(topic);
      // Two relays with their own pools and producers, as two service processes would have.
      const metrics = [createMetrics(), createMetrics()] as const;
      const relays = await Promise.all([
        startTestRelay(database.store, broker().brokers, topic, {
          batchSize: 10,
          busyRetryMs: 10,
          metrics: metrics[0],
        }),
        startTestRelay(other, broker().brokers, topic, {
          batchSize: 10,
          busyRetryMs: 10,
          metrics: metrics[1],
        }),
      ]);
      try {
        const images = Array.from({ length: 6 }, (_, index) => 300 + index);
        const perImage = 40;
        // Writers on both stores, one per image at a time, while both relays run.
        await Promise.all(
          images.map(async (imageId, index) => {
            const writer = index % 2 === 0 ? database.store : other;
            for (let step = 0; step < perImage; step++) {
              await writeEvents(writer, [containerEvent(imageId, step)]);
            }
          }),
        );
        await Promise.all(relays.map((relay) => relay.flush()));
        const total = images.length * perImage;
        const messages = await consumption.waitFor(total);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(consumption.messages).toHaveLength(total);
        expect(new Set(messages.map((message) => message.event.id)).size).toBe(total);
        const rows = await allEvents(database.store);
        expect(rows.every((row) => row.published_at !== null && row.publish_attempts === 1)).toBe(
          true,
        );
        expect(idsByKey(messages)).toEqual(expectedIdsByKey(rows));
        const published = await Promise.all(
          metrics.map(async ({ registry }) =>
            Number(
              /^orchestrator_events_published_total (\S+)$/m.exec(await registry.metrics())?.[1],
            ),
          ),
        );
        expect(published[0]! + published[1]!).toBe(total);
      } finally {
        await consumption.stop();
        await Promise.all(relays.map((relay) => relay.stop()));
        await database.close();
      }
    });
  },
);
