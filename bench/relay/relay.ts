/**
 * Outbox relay throughput and lag against librdkafka's mock broker: `node bench/relay/relay.ts`.
 *
 * 1. Throughput: 20,000 events committed at once; the relay drains them to Kafka (acks=all) and
 *    marks them published. The same 20,000 messages (the same bytes, keys and headers) are sent
 *    by a bare kafkajs producer (same batch size, one request at a time, acks=all). Three rounds
 *    (20,000 new events each), each a relay drain then a bare run, so load from elsewhere falls
 *    on both sides alike; of each side the best run counts (all are printed): on a shared,
 *    loaded machine one slow run of either side would otherwise decide the ratio. Prints
 *    events/s of each, the ratio relay / bare (goal >= 0.5x), and this process's CPU time per
 *    event on each side (steadier than the rates under load; the broker runs apart).
 * 2. Lag: events written in transactions of 10 at a steady rate while the relay runs; prints
 *    p50/p99 of commit -> broker ack (published_at - time; `time` is set at insert, in a
 *    transaction that commits right after).
 *
 * Runs under the V8 flags of npm start's script (--liftoff-only, --max-semi-space-size), as the
 * service does: it starts itself again with them (BENCH_TURBOFAN=1 lets V8 optimize PGlite's
 * WebAssembly instead, which the service does not).
 * Runs on PGlite in memory, then on a Postgres server when BENCH_DATABASE_URL (or
 * TEST_DATABASE_URL) is set (a scratch database is created there and dropped).
 * Knobs: BENCH_EVENTS (20000), BENCH_BATCH (500), BENCH_ROUNDS (3, at least 2), BENCH_LAG_EVENTS
 * (5000), BENCH_LAG_RATE (1000/s), BENCH_PROFILE (a file: the CPU profile of the relay's second
 * drain alone, commit to last mark, for Chrome's DevTools or
 * `node bench/relay/support-profile-summary.ts FILE`).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { sql } from "kysely";
import postgres from "postgres";
import type { NewEvent } from "../../src/domain/events.ts";
import { eventSource, toKafkaMessage } from "../../src/events/cloudevent.ts";
import type { SinkMessage } from "../../src/events/event-sink.ts";
import { createKafkaSink } from "../../src/events/kafka-sink.ts";
import { startRelay } from "../../src/events/relay.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import { createMetrics, type Registry } from "../../src/metrics/registry.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import { ensureKafkaMockBinary, startKafkaBroker } from "../../test/support/kafka-broker.ts";
import { serviceV8Flags } from "../support.ts";

const totalEvents = Number(process.env.BENCH_EVENTS ?? 20_000);
const batchSize = Number(process.env.BENCH_BATCH ?? 500);
const rounds = Math.max(2, Number(process.env.BENCH_ROUNDS ?? 3));
const lagEvents = Number(process.env.BENCH_LAG_EVENTS ?? 5_000);
const lagRate = Number(process.env.BENCH_LAG_RATE ?? 1_000);
const profileFile = process.env.BENCH_PROFILE;
const source = eventSource("bench");

/** Profiles the CPU while `work` runs, into BENCH_PROFILE (the first backend's run only). */
async function profiled<T>(work: () => Promise<T>): Promise<T> {
  if (profileFile === undefined) return work();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    await writeFile(profileFile, JSON.stringify(profile));
    console.log(`CPU profile of the drain: ${profileFile}`);
  }
}

function benchEvent(index: number): NewEvent {
  const imageId = 1 + (index % 50);
  const instanceId = `bench-${imageId}-${index}`;
  return {
    type: index % 2 === 0 ? "container.started" : "container.stopped",
    imageId,
    userId: 7,
    instanceId,
    data: {
      container_id: randomBytes(32).toString("hex"),
      name: `nvidia-app-shop-${instanceId}`,
      instance_id: instanceId,
      image_id: imageId,
      image: `nvidia-app-u7-i${imageId}:v1`,
      user_id: "7",
      app_hostname: "shop.example.com",
      host: "127.0.0.1",
      host_port: 32768 + (index % 20_000),
      container_port: 8080,
      cpu_limit: "0.5",
      memory_limit: "256m",
      started_at: new Date().toISOString(),
      stopped_at: index % 2 === 0 ? null : new Date().toISOString(),
      reason: "scale_up",
    },
  };
}

async function openBenchStore(
  baseUrl: string | undefined,
): Promise<{ store: Store; backend: string; drop(): Promise<void> }> {
  if (baseUrl === undefined) {
    return {
      store: await openStore({ kind: "pglite", dataDir: undefined }),
      backend: "pglite (in memory)",
      drop: async () => {},
    };
  }
  const name = `orch_bench_${randomBytes(4).toString("hex")}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    store: await openStore({ kind: "postgres", url: url.toString() }),
    backend: "postgres",
    drop: async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return (
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
  );
}

/** Waits for the relay's published counter (in process: no query competes with the relay). */
async function waitUntilPublished(
  registry: Registry,
  count: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const metric = await registry.getSingleMetric("orchestrator_events_published_total")?.get();
    const published = metric?.values[0]?.value ?? 0;
    if (published >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${published} of ${count} events published`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** This process's CPU time (user + system) since `before`, in microseconds per event. */
function cpuMicrosPerEvent(before: NodeJS.CpuUsage, events: number): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / events;
}

type BackendResult = {
  readonly backend: string;
  readonly relayRate: number;
  readonly bareRate: number;
  readonly ratio: number;
  readonly lagP50Ms: number;
  readonly lagP99Ms: number;
};

/** The same messages through a bare kafkajs producer: same batch size, one request at a time. */
async function bareProducerRate(brokers: readonly string[], messages: readonly SinkMessage[]) {
  const kafka = new Kafka({
    clientId: "bench-bare",
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: false,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const topic = `bench-bare-${randomBytes(3).toString("hex")}`;
  await producer.send({ topic, acks: -1, messages: [{ key: "0", value: "warm-up" }] });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let offset = 0; offset < messages.length; offset += batchSize) {
    await producer.sendBatch({
      acks: -1,
      topicMessages: [
        {
          topic,
          messages: messages.slice(offset, offset + batchSize),
        },
      ],
    });
  }
  const rate = messages.length / ((performance.now() - started) / 1000);
  const cpu = cpuMicrosPerEvent(cpuBefore, messages.length);
  await producer.disconnect();
  return { rate, cpu };
}

async function runBackend(
  brokers: readonly string[],
  opened: Awaited<ReturnType<typeof openBenchStore>>,
  logger: Logger,
): Promise<BackendResult> {
  const { store, backend } = opened;
  const sink = createKafkaSink({
    brokers,
    topic: `bench-relay-${randomBytes(3).toString("hex")}`,
    clientId: "bench-relay",
    logger,
  });
  await sink.connect();
  await sink.publish([{ key: "0", value: "warm-up", headers: {} }]);
  const metrics = createMetrics();
  const relay = await startRelay({ metrics, store, sink, logger, source, batchSize });
  try {
    // Throughput: 20,000 events become visible at once (one commit); the relay drains them.
    // Rounds alternate a relay drain and a bare run, and the better run of each side counts:
    // load from elsewhere on the machine then falls on both sides alike. The second drain is
    // profiled (the first also pays for compiling the code).
    const drain = async (round: number) => {
      const events = Array.from({ length: totalEvents }, (_, index) => benchEvent(index));
      await store.transaction(async (tx) => {
        for (let offset = 0; offset < events.length; offset += 1_000) {
          await tx.events.append(events.slice(offset, offset + 1_000));
        }
      });
      const committed = performance.now();
      const cpuBefore = process.cpuUsage();
      const measured =
        backend.startsWith("pglite") && round === 1
          ? profiled
          : (work: () => Promise<void>) => work();
      await measured(() =>
        waitUntilPublished(metrics.registry, totalEvents * (round + 1), 300_000),
      );
      const rate = totalEvents / ((performance.now() - committed) / 1000);
      return { rate, cpu: cpuMicrosPerEvent(cpuBefore, totalEvents) };
    };
    const relayRuns: { rate: number; cpu: number }[] = [];
    const bareRuns: { rate: number; cpu: number }[] = [];
    let messages: SinkMessage[] = [];
    for (let round = 0; round < rounds; round++) {
      if (round > 0) await store.db.deleteFrom("events").execute();
      relayRuns.push(await drain(round));
      if (round === 0) {
        // The bare producer sends the very same messages as the first drain: the same bytes
        // (data as the database prints it), keys and headers.
        const rows = await store.db
          .selectFrom("events")
          .select([
            "id",
            "type",
            "subject",
            "image_id",
            "time",
            sql<string>`data::text`.as("dataJson"),
          ])
          .orderBy("seq")
          .execute();
        messages = rows.map((row) => toKafkaMessage(row, source));
      }
      bareRuns.push(await bareProducerRate(brokers, messages));
    }
    const relayRates = relayRuns.map((run) => run.rate);
    const relayRate = Math.max(...relayRates);
    const bareRates = bareRuns.map((run) => run.rate);
    const bareRate = Math.max(...bareRates);
    // CPU of this process per event (the broker runs apart): less sensitive to other load on
    // the machine than the rates, and where the relay's extra work shows.
    const cpuOf = (runs: readonly { cpu: number }[]) =>
      runs.map((run) => run.cpu.toFixed(0)).join(", ");

    // Lag: a steady stream of small transactions while the relay runs.
    await store.db.deleteFrom("events").execute();
    const perTransaction = 10;
    const transactions = Math.ceil(lagEvents / perTransaction);
    const intervalMs = (perTransaction / lagRate) * 1000;
    const streamStart = performance.now();
    for (let index = 0; index < transactions; index++) {
      const wait = streamStart + index * intervalMs - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const batch = Array.from({ length: perTransaction }, (_, offset) =>
        benchEvent(index * perTransaction + offset),
      );
      await store.transaction((tx) => tx.events.append(batch));
    }
    const offered = (transactions * perTransaction) / ((performance.now() - streamStart) / 1000);
    await waitUntilPublished(
      metrics.registry,
      rounds * totalEvents + transactions * perTransaction,
      300_000,
    );
    const lags = (await store.events.list({ limit: transactions * perTransaction }))
      .map((row) => new Date(row.published_at ?? 0).getTime() - new Date(row.time).getTime())
      .sort((a, b) => a - b);
    const result = {
      backend,
      relayRate,
      bareRate,
      ratio: relayRate / bareRate,
      lagP50Ms: percentile(lags, 50),
      lagP99Ms: percentile(lags, 99),
    };
    console.log(`\n[${backend}]`);
    console.log(
      `relay:        ${Math.round(relayRate)} events/s (best of ${rounds} runs: ${relayRates.map(Math.round).join(", ")})`,
    );
    console.log(
      `bare kafkajs: ${Math.round(bareRate)} events/s (best of ${rounds} runs: ${bareRates.map(Math.round).join(", ")})`,
    );
    console.log(`ratio relay/bare: ${result.ratio.toFixed(2)}x (goal >= 0.5x)`);
    console.log(
      `CPU of this process per event: relay ${cpuOf(relayRuns)} µs, bare ${cpuOf(bareRuns)} µs`,
    );
    console.log(
      `lag commit->ack, ${lags.length} events at ${Math.round(offered)} events/s: p50 ${result.lagP50Ms} ms, p99 ${result.lagP99Ms} ms`,
    );
    return result;
  } finally {
    await relay.stop();
  }
}

export async function main(): Promise<BackendResult[]> {
  const logger = createLogger(process.env.LOG_LEVEL ?? "warn");
  const broker = await startKafkaBroker(await ensureKafkaMockBinary());
  const postgresUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  console.log(
    `relay bench: ${totalEvents} events, batch ${batchSize}, mock broker ${broker.bootstrap}, ` +
      `node ${process.execArgv.filter((arg) => arg.startsWith("--") && !arg.startsWith("--disable-warning")).join(" ")}` +
      (process.execArgv.includes("--liftoff-only")
        ? " (as npm start)"
        : " (WebAssembly optimized: BENCH_TURBOFAN; npm start uses --liftoff-only)") +
      (postgresUrl === undefined ? " (set BENCH_DATABASE_URL to add a Postgres server)" : ""),
  );
  const results: BackendResult[] = [];
  try {
    for (const url of [undefined, postgresUrl]) {
      if (results.length > 0 && url === undefined) continue;
      const opened = await openBenchStore(url);
      try {
        results.push(await runBackend(broker.brokers, opened, logger));
      } finally {
        await opened.store.close();
        await opened.drop();
      }
    }
  } finally {
    await broker.stop();
  }
  return results;
}

/**
 * The service runs node with V8 flags (npm start's script, the image): --liftoff-only keeps
 * PGlite's WebAssembly on V8's baseline compiler (the relay's queries cost more than with the
 * optimizing one), --max-semi-space-size bounds the young generation (see "Start-up and idle
 * memory" in docs/architecture.md). The bench measures the relay as the service runs it, so it
 * starts itself again with the start script's V8 flags (both sides, relay and bare producer,
 * run under them); BENCH_TURBOFAN=1 leaves --liftoff-only out.
 */
function asTheServiceRuns(): boolean {
  if (process.env.BENCH_AS_SERVICE !== undefined) return false;
  const flags = serviceV8Flags().filter(
    (flag) => !(flag === "--liftoff-only" && process.env.BENCH_TURBOFAN !== undefined),
  );
  const child = spawnSync(
    process.execPath,
    [...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: "inherit", env: { ...process.env, BENCH_AS_SERVICE: "1" } },
  );
  process.exitCode = child.status ?? 1;
  return true;
}

if (import.meta.main && !asTheServiceRuns()) {
  await main();
}
