import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { startKafkaRelay } from "../../src/events/kafka-relay.ts";
import { createMetrics } from "../../src/metrics/registry.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { hasKafkaMock } from "../support/services.ts";
import { freePort } from "../support/spawn-server.ts";
import {
  allEvents,
  capturedLogger,
  containerEvent,
  openTestDatabase,
  uniqueTopic,
  writeEvents,
} from "./relay-support.ts";

describe.runIf(hasKafkaMock())("startKafkaRelay (the service's wiring)", () => {
  const broker = useKafkaBroker();

  it("does nothing without KAFKA_BROKERS, and says so", async () => {
    const database = await openTestDatabase("pglite");
    const { logger, lines } = capturedLogger();
    try {
      const relay = await startKafkaRelay(loadConfig({}), { store: database.store, logger });
      expect(relay).toBeUndefined();
      expect(lines().some((line) => /KAFKA_BROKERS is not set/.test(line.msg))).toBe(true);
    } finally {
      await database.close();
    }
  });

  it("publishes to KAFKA_TOPIC with ORCHESTRATOR_ID as the source", async () => {
    const database = await openTestDatabase("pglite");
    const topic = uniqueTopic();
    const { logger } = capturedLogger();
    const config = loadConfig({
      KAFKA_BROKERS: broker().bootstrap,
      KAFKA_TOPIC: topic,
      ORCHESTRATOR_ID: "orch-7",
    });
    const relay = await startKafkaRelay(config, {
      store: database.store,
      logger,
      metrics: createMetrics(),
    });
    try {
      await writeEvents(database.store, [containerEvent(77, 1)]);
      await relay?.flush();
      const consumption = await broker().consume(topic);
      const [message] = await consumption.waitFor(1);
      await consumption.stop();
      expect(message?.event.source).toBe("orchestrator/orch-7");
      expect(message?.headers.ce_source).toBe("orchestrator/orch-7");
    } finally {
      await relay?.stop();
      await database.close();
    }
  });

  it("starts with unreachable brokers: one clear log line, no crash, events kept", async () => {
    const database = await openTestDatabase("pglite");
    const { logger, lines } = capturedLogger();
    const port = await freePort();
    const relay = await startKafkaRelay(
      loadConfig({ KAFKA_BROKERS: `127.0.0.1:${port}`, KAFKA_TOPIC: uniqueTopic() }),
      { store: database.store, logger },
    );
    try {
      await writeEvents(database.store, [containerEvent(78, 1)]);
      await expect(relay?.flush({ timeoutMs: 2_000 })).rejects.toThrow(
        /flush timed out with 1 events unpublished/,
      );
      const messages = lines().map((line) => line.msg);
      expect(messages).toContain(
        "event broker unreachable at start; events wait in the database and will be retried",
      );
      expect(messages).toContain(
        "event publishing failed; events wait in the database and will be retried",
      );
      const failure = lines().find((line) => line.msg.startsWith("event publishing failed"));
      expect(failure).toMatchObject({ level: 50, component: "event-relay" });
      expect(failure?.error).toMatch(new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
      expect((await allEvents(database.store))[0]?.published_at).toBeNull();
    } finally {
      await relay?.stop();
      await database.close();
    }
  });
});
