/**
 * A relay in its own process, for the crash test: `node test/events/relay-child.ts`.
 * Environment: RELAY_DATABASE_URL (Postgres) or RELAY_PGLITE_DIR, KAFKA_BROKERS (comma-separated),
 * KAFKA_TOPIC, RELAY_BATCH_SIZE. Logs (pino, debug) on stdout; runs until killed.
 */
import { eventSource } from "../../src/events/cloudevent.ts";
import { createKafkaSink } from "../../src/events/kafka-sink.ts";
import { startRelay } from "../../src/events/relay.ts";
import { createLogger } from "../../src/logger.ts";
import { openStore } from "../../src/store/database.ts";

const logger = createLogger("debug");
const databaseUrl = process.env.RELAY_DATABASE_URL;
const pgliteDir = process.env.RELAY_PGLITE_DIR;
const store = await openStore(
  databaseUrl === undefined
    ? { kind: "pglite", dataDir: pgliteDir }
    : { kind: "postgres", url: databaseUrl },
);
const sink = createKafkaSink({
  brokers: (process.env.KAFKA_BROKERS ?? "").split(","),
  topic: process.env.KAFKA_TOPIC ?? "container-lifecycle",
  clientId: "relay-child",
  logger,
  requestTimeoutMs: 3_000,
  connectionTimeoutMs: 1_000,
});
const relay = await startRelay({
  store,
  sink,
  logger,
  source: eventSource("relay-test"),
  batchSize: Number(process.env.RELAY_BATCH_SIZE ?? 500),
  pollIntervalMs: 1_000,
  backoff: { initialMs: 100, maxMs: 500 },
});
logger.info("relay child started");

process.once("SIGTERM", () => {
  void relay
    .stop()
    .then(() => store.close())
    .then(() => process.exit(0));
});
