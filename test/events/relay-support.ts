import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import type { NewEvent } from "../../src/domain/events.ts";
import { createKafkaSink } from "../../src/events/kafka-sink.ts";
import { type Relay, type RelayOptions, startRelay } from "../../src/events/relay.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import type { EventRow } from "../../src/store/events-repository.ts";
import { createScratchDatabase } from "../support/databases.ts";
import type { ConsumedMessage, Consumption } from "../support/kafka-broker.ts";
import type { Backend } from "../support/services.ts";

export const testLogger: Logger = createLogger(process.env.TEST_LOG_LEVEL ?? "silent");

export type LogLine = { level: number; msg: string; [field: string]: any };

/** A logger at `level` whose output is kept: as written (`text`) and as parsed JSON lines. */
export function capturedLogger(level = "info") {
  let written = "";
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      written += chunk.toString();
      callback();
    },
  });
  return {
    logger: createLogger(level, destination),
    text: () => written,
    lines: (): LogLine[] =>
      written
        .split("\n")
        .filter((line) => line.trim().length > 0)
        .map((line) => JSON.parse(line) as LogLine),
  };
}

export type TestDatabase = {
  readonly store: Store;
  /** Postgres URL for a second store or a child process; undefined on PGlite (in memory). */
  readonly url: string | undefined;
  /** Another store on the same database (Postgres only). */
  openAnother(): Promise<Store>;
  close(): Promise<void>;
};

export async function openTestDatabase(backend: Backend): Promise<TestDatabase> {
  if (backend === "pglite") {
    const store = await openStore({ kind: "pglite", dataDir: undefined });
    return {
      store,
      url: undefined,
      openAnother: () => Promise.reject(new Error("PGlite in memory has one store")),
      close: () => store.close(),
    };
  }
  const scratch = await createScratchDatabase();
  const store = await openStore({ kind: "postgres", url: scratch.url });
  const others: Store[] = [];
  return {
    store,
    url: scratch.url,
    openAnother: async () => {
      const other = await openStore({ kind: "postgres", url: scratch.url });
      others.push(other);
      return other;
    },
    close: async () => {
      for (const other of others) await other.close();
      await store.close();
      await scratch.drop();
    },
  };
}

export function uniqueTopic(): string {
  return `relay-test-${randomBytes(5).toString("hex")}`;
}

/** A container event of the contract's shape; `step` makes each one recognizable. */
export function containerEvent(
  imageId: number,
  step: number,
  extra: Record<string, unknown> = {},
): NewEvent {
  const instanceId = `i${imageId}-${step}`;
  return {
    type: "container.started",
    imageId,
    userId: 7,
    instanceId,
    data: {
      container_id: `c${imageId}x${step}`,
      name: `nvidia-app-shop-${instanceId}`,
      instance_id: instanceId,
      image_id: imageId,
      image: `nvidia-app-u7-i${imageId}:v1`,
      user_id: "7",
      app_hostname: "shop.example.com",
      host: "127.0.0.1",
      host_port: 32768 + step,
      container_port: 8080,
      cpu_limit: "0.5",
      memory_limit: "256m",
      started_at: "2025-01-01T00:00:00.000Z",
      stopped_at: null,
      reason: "scale_up",
      ...extra,
    } as NewEvent["data"],
  };
}

/** Writes events in one transaction per call, like the reconcile loop does. */
export async function writeEvents(store: Store, events: readonly NewEvent[]): Promise<void> {
  await store.transaction((tx) => tx.events.append(events));
}

/** Every event in seq order, as the service reads them (with when each was published). */
export async function allEvents(store: Store): Promise<EventRow[]> {
  return store.events.list({ limit: 1_000_000 });
}

export type TestRelayOptions = Partial<Omit<RelayOptions, "store" | "sink" | "logger">> & {
  readonly maxMessageBytes?: number;
};

/** A relay with a real Kafka sink and quick timings for tests. */
export async function startTestRelay(
  store: Store,
  brokers: readonly string[],
  topic: string,
  options: TestRelayOptions = {},
): Promise<Relay> {
  const { maxMessageBytes, ...relayOptions } = options;
  const sink = createKafkaSink({
    brokers,
    topic,
    clientId: "relay-test",
    logger: testLogger,
    requestTimeoutMs: 3_000,
    connectionTimeoutMs: 1_000,
    ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
  });
  return startRelay({
    store,
    sink,
    logger: testLogger,
    source: "orchestrator/relay-test",
    pollIntervalMs: 1_000,
    busyRetryMs: 200,
    backoff: { initialMs: 100, maxMs: 1_000 },
    ...relayOptions,
  });
}

/** Event ids per Kafka key, in the order the consumer saw them (first delivery of each). */
export function idsByKey(messages: readonly ConsumedMessage[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const message of messages) {
    const ids = byKey.get(message.key ?? "") ?? [];
    if (!ids.includes(message.event.id)) ids.push(message.event.id);
    byKey.set(message.key ?? "", ids);
  }
  return byKey;
}

/** Event ids per image, in seq order: what every key's stream must look like. */
export function expectedIdsByKey(rows: readonly EventRow[]): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const row of rows) {
    const ids = byKey.get(String(row.image_id)) ?? [];
    ids.push(row.id);
    byKey.set(String(row.image_id), ids);
  }
  return byKey;
}

/** Waits until `count` distinct event ids arrived (duplicates, allowed by at-least-once, do not count). */
export async function waitForDistinct(
  consumption: Consumption,
  count: number,
  timeoutMs = 60_000,
): Promise<readonly ConsumedMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const distinct = new Set(consumption.messages.map((message) => message.event?.id)).size;
    if (distinct >= count) return consumption.messages;
    if (Date.now() > deadline) throw new Error(`got ${distinct} of ${count} distinct events`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
