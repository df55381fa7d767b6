/**
 * Claims from a warm pool. (1) Claim latency, p50/p99 of `POST /api/images/{id}/claims` one at
 * a time from a pool of idle instances, against the bare database work a claim cannot avoid:
 * `SELECT … FOR UPDATE SKIP LOCKED` + `UPDATE` in one transaction, on the same database in the
 * same run (baseline, ours, baseline). Goal: p99 within 2×. (2) Time to serve: a claim until
 * its URL answers HTTP, against creating and starting a fresh container until it answers (the
 * reason pools exist).
 * Run: `npm run bench -- claims` (BENCH_POOL instances, BENCH_ROUNDS rounds of claiming them
 * all; BENCH_DATABASE_URL runs it on a Postgres server instead of the embedded database).
 */
import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { connectDocker } from "../../src/docker/connection.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import {
  removeManagedContainers,
  startTestServer,
  type TestServer,
} from "../../test/support/test-server.ts";
import { answers, median, report, startRawHttpd, until } from "../support.ts";

const poolSize = Number(process.env.BENCH_POOL ?? 40);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const baselineSamples = Number(process.env.BENCH_BASELINE_SAMPLES ?? 300);
const docker = connectDocker(process.env.DOCKER_HOST);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

/** The bare claim: one idle row locked with SKIP LOCKED and marked, in one transaction. */
async function bareRoundTrips(server: TestServer, samples: number): Promise<number[]> {
  const db = server.service.store.db;
  const table = `bench_claims_${randomBytes(3).toString("hex")}`;
  await sql.raw(`create table ${table} (id int primary key, claimed_by text)`).execute(db);
  await sql
    .raw(`insert into ${table} select g, null from generate_series(1, ${samples}) g`)
    .execute(db);
  const times: number[] = [];
  try {
    for (let index = 0; index < samples; index += 1) {
      const started = performance.now();
      await db.transaction().execute(async (tx) => {
        const row = await sql<{ id: number }>`select id from ${sql.table(table)}
          where claimed_by is null order by id limit 1 for update skip locked`.execute(tx);
        const id = row.rows[0]?.id;
        await sql`update ${sql.table(table)} set claimed_by = ${`k${index}`} where id = ${id}`.execute(
          tx,
        );
      });
      times.push(performance.now() - started);
    }
  } finally {
    await sql.raw(`drop table ${table}`).execute(db);
  }
  return times;
}

async function idleCount(server: TestServer, imageId: number): Promise<number> {
  const items = (await server.request("GET", `/api/images/${imageId}/containers`)).body
    .items as Array<{
    claimed_by: string | null;
    observed_state: string;
    recycle_requested_at: string | null;
  }>;
  return items.filter(
    (item) =>
      item.claimed_by === null &&
      item.recycle_requested_at === null &&
      item.observed_state === "running",
  ).length;
}

/** Claims every idle instance one at a time (each timed), then releases them all. */
async function claimRound(
  server: TestServer,
  imageId: number,
  round: number,
): Promise<{ latencies: number[]; serve: number[] }> {
  await until(async () => (await idleCount(server, imageId)) === poolSize, 300_000, "pool idle");
  const latencies: number[] = [];
  const serve: number[] = [];
  for (let index = 0; index < poolSize; index += 1) {
    const started = performance.now();
    const claimed = await server.request("POST", `/api/images/${imageId}/claims?wait=0s`, {
      body: { key: `r${round}-k${index}` },
    });
    latencies.push(performance.now() - started);
    if (claimed.status !== 200) throw new Error(`claim: ${JSON.stringify(claimed.body)}`);
    await until(() => answers(claimed.body.port as number), 10_000, "claimed instance answers");
    serve.push(performance.now() - started);
  }
  for (let index = 0; index < poolSize; index += 1) {
    await server.request("DELETE", `/api/claims?key=r${round}-k${index}`);
  }
  return { latencies, serve };
}

/** A fresh container until it answers HTTP: what a claim from an empty pool would cost. */
async function freshContainer(label: string, index: number): Promise<number> {
  const started = performance.now();
  const port = await startRawHttpd(docker, testImages.httpd, `${label}-${index}`, label);
  await until(() => answers(port), 30_000, "fresh container answers");
  return performance.now() - started;
}

export async function main(): Promise<void> {
  await ensureBaseImage(docker);
  await ensureTestImages(docker);
  const server = await startTestServer({
    env: { LOG_LEVEL: "warn", RATE_LIMIT_WRITES_PER_MINUTE: "10000000" },
    ...(process.env.BENCH_DATABASE_URL === undefined
      ? {}
      : { databaseUrl: process.env.BENCH_DATABASE_URL }),
  });
  const label = `bench-fresh-${randomBytes(3).toString("hex")}`;
  try {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "bench-pool",
        image: testImages.httpd,
        cpu_limit: "0.1",
        memory_limit: "16m",
        pool: { min_idle: poolSize, max: poolSize },
      },
    });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    const imageId = created.body.id as number;

    const before = await bareRoundTrips(server, baselineSamples / 2);
    const latencies: number[] = [];
    const serve: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const measured = await claimRound(server, imageId, round);
      latencies.push(...measured.latencies);
      serve.push(...measured.serve);
    }
    const after = await bareRoundTrips(server, baselineSamples / 2);
    const bare = [...before, ...after];

    const fresh: number[] = [];
    for (let index = 0; index < 10; index += 1) fresh.push(await freshContainer(label, index));

    const p99 = percentile(latencies, 99);
    const bareP99 = percentile(bare, 99);
    report("claims", {
      backend: server.databaseUrl === undefined ? "pglite" : "postgres",
      claims: latencies.length,
      claim_p50: ms(median(latencies)),
      claim_p99: ms(p99),
      bare_skip_locked_p50: ms(median(bare)),
      bare_skip_locked_p99: ms(bareP99),
      ratio_p99: `${(p99 / bareP99).toFixed(2)}x`,
      goal: "<=2x",
    });
    report("claims-serve", {
      claim_until_http_p50: ms(median(serve)),
      fresh_container_until_http_p50: ms(median(fresh)),
      ratio: `${(median(fresh) / median(serve)).toFixed(1)}x faster from the pool`,
    });
    await server.request("DELETE", `/api/images/${imageId}`);
    await until(
      async () => (await server.request("GET", `/api/images/${imageId}`)).status === 404,
      120_000,
      "pool image deleted",
    );
  } finally {
    await removeManagedContainers(label);
    await server.stop();
    await removeManagedContainers(server.orchestratorId);
  }
}

if (import.meta.main) await main();
