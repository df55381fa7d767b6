import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/metrics/registry.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { backends, hasKafkaMock } from "../support/services.ts";
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

describe.runIf(hasKafkaMock())("event relay: delivery", () => {
  const broker = useKafkaBroker();

  describe.each(backends())("on %s", (backend) => {
    it("delivers each event once with the contract's value, key and headers", async () => {
      const database = await openTestDatabase(backend);
      const topic = uniqueTopic();
      const consumption = await broker().consume(topic);
      const metrics = createMetrics();
      const relay = await startTestRelay(database.store, broker().brokers, topic, { metrics });
      try {
        await writeEvents(database.store, [containerEvent(42, 1), containerEvent(42, 2)]);
        const scaled = {
          image_id: 43,
          name: "shop",
          image: null,
          user_id: "7",
          app_hostname: null,
          status: "ready",
          reason: "api",
          desired_instances: 3,
          previous_desired_instances: 1,
        };
        await writeEvents(database.store, [
          { type: "image.scaled", imageId: 43, userId: 7, data: scaled },
        ]);
        await relay.flush();
        const messages = await consumption.waitFor(3);
        const rows = await allEvents(database.store);
        expect(rows.every((row) => row.published_at !== null && row.publish_error === null)).toBe(
          true,
        );

        const first = messages.find((message) => message.event.id === rows[0]?.id);
        expect(first?.key).toBe("42");
        expect(first?.headers).toMatchObject({
          "content-type": "application/cloudevents+json",
          ce_type: "container.started",
          ce_id: rows[0]?.id,
          ce_specversion: "1.0",
          ce_source: "orchestrator/relay-test",
        });
        expect(first?.event).toEqual({
          specversion: "1.0",
          id: rows[0]?.id,
          source: "orchestrator/relay-test",
          type: "container.started",
          subject: "containers/i42-1",
          time: rows[0]?.time.toISOString(),
          datacontenttype: "application/json",
          data: expect.objectContaining({
            container_id: "c42x1",
            image_id: 42,
            user_id: "7",
            host: "127.0.0.1",
            host_port: 32769,
            container_port: 8080,
            app_hostname: "shop.example.com",
            cpu_limit: "0.5",
            memory_limit: "256m",
            started_at: "2025-01-01T00:00:00.000Z",
            stopped_at: null,
          }),
        });
        expect(first?.event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
        const image = messages.find((message) => message.key === "43");
        expect(image?.event).toMatchObject({ type: "image.scaled", subject: "images/43" });
        // The data is sent as the service wrote it (stored as json, sql/0025): in its key order.
        expect(image?.value.endsWith(`,"data":${JSON.stringify(scaled)}}`)).toBe(true);

        // Nothing arrives twice.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(consumption.messages).toHaveLength(3);

        const text = await metrics.registry.metrics();
        expect(text).toMatch(/^orchestrator_events_published_total 3$/m);
        expect(text).toMatch(/^orchestrator_events_unpublished 0$/m);
        expect(text).toMatch(/^orchestrator_events_oldest_unpublished_age_seconds 0$/m);
        expect(text).toMatch(/^orchestrator_event_publish_lag_seconds_count 3$/m);
      } finally {
        await consumption.stop();
        await relay.stop();
        await database.close();
      }
    });

    it("keeps every image's order while many writers commit concurrently", async () => {
      const database = await openTestDatabase(backend);
      const topic = uniqueTopic();
      const consumption = await broker().consume(topic);
      const relay = await startTestRelay(database.store, broker().brokers, topic, { batchSize: 7 });
      try {
        const images = Array.from({ length: 8 }, (_, index) => 100 + index);
        const perImage = 25;
        // One writer per image (the reconcile loop handles a key in one worker at a time), all
        // at once; the relay publishes while they write.
        await Promise.all(
          images.map(async (imageId) => {
            for (let step = 0; step < perImage; step++) {
              await writeEvents(database.store, [containerEvent(imageId, step)]);
            }
          }),
        );
        await relay.flush();
        const messages = await consumption.waitFor(images.length * perImage);
        const rows = await allEvents(database.store);
        expect(idsByKey(messages)).toEqual(expectedIdsByKey(rows));
        for (const imageId of images) {
          const steps = messages
            .filter((message) => message.key === String(imageId))
            .map((message) => message.event.data.host_port - 32768);
          expect(steps).toEqual(Array.from({ length: perImage }, (_, step) => step));
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(consumption.messages).toHaveLength(images.length * perImage);
      } finally {
        await consumption.stop();
        await relay.stop();
        await database.close();
      }
    });
  });
});
