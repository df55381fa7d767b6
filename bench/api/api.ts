/**
 * API speed at a fixed concurrency: `node bench/api/api.ts`.
 *
 * The service runs as `npm start` runs it (its own process, default log level, output read and
 * dropped), on PGlite and on a Postgres server (BENCH_DATABASE_URL / TEST_DATABASE_URL), with a
 * user's token. Before it starts, the database is seeded with that user and 32 images of theirs:
 * uploads still waiting for their source, so the controller reconciles every change (instance
 * rows, status, events) without Docker creating containers. Then, at concurrency 8, for
 * BENCH_SECONDS (10) each:
 * - reads: GET /api/images/{id};
 * - writes: PATCH /api/images/{id} moving desired_instances between 1 and 2 (each worker on its
 *   own images: a row lock, an image.scaled event and a NOTIFY per write, and the reconciles
 *   they wake: one at once for an image quiet for a second, then one a second while its writes
 *   keep coming, as the controller spaces them).
 * Baselines in the same run: a bare hono route (support-bare-server.ts) answering the same
 * requests, and, on each backend, the floor (support-floor-server.ts): the same requests
 * through the same stack doing only one statement each on the same database (no token, no
 * transaction, no check, event or audit, no controller), which no orchestrator on this machine
 * can beat. Prints req/s, p50 and p99 of each, the CPU time per request (Linux) of the serving
 * process, of this load generator (node:http, support-http-client.ts) and of the machine's
 * `postgres` processes (the three share the cores: what a write costs the machine, not only
 * the service), the reconcile passes per write (they vary with the speed of both sides: a pass
 * started while writes to its image keep coming covers several), ours / bare and ours / floor.
 * Goals: writes >= 1,000 req/s with p99 < 20 ms on the server, >= 500 req/s on PGlite.
 * Knobs: BENCH_SECONDS, BENCH_CONCURRENCY, BENCH_BACKENDS (pglite,postgres), BENCH_PHASES
 * (reads,writes), BENCH_SERVICE_NODE_ARGS (e.g. --cpu-prof, to see where a request's time goes).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { generateToken, hashToken } from "../../src/auth/tokens.ts";
import { openStore, type StoreLocation } from "../../src/store/database.ts";
import { metricValue } from "../../test/support/metrics-text.ts";
import { seedImage } from "../../test/support/seed-image.ts";
import { freePort } from "../../test/support/spawn-server.ts";
import { report, startArguments } from "../support.ts";
import { type Answer, httpClient } from "./support-http-client.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const imageCount = 32;
const backends = (process.env.BENCH_BACKENDS ?? "pglite,postgres").split(",") as Array<
  "pglite" | "postgres"
>;
const phases = new Set((process.env.BENCH_PHASES ?? "reads,writes").split(","));
const serviceNodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
const none: Stats = {
  rate: Number.NaN,
  p50: Number.NaN,
  p99: Number.NaN,
  cpuMs: Number.NaN,
  clientCpuMs: Number.NaN,
  postgresCpuMs: Number.NaN,
  answered: 0,
};
const serverUrl =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://orchestrator_test:orchestrator_test@127.0.0.1:5432/orchestrator_test";

/**
 * cpuMs: the serving process's CPU time (user + system) per answered request; clientCpuMs the
 * load generator's (this process); postgresCpuMs that of this machine's `postgres` processes
 * (a local server's backends; near 0 when the phase runs on PGlite). The three share the cores.
 */
type Stats = {
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuMs: number;
  readonly clientCpuMs: number;
  readonly postgresCpuMs: number;
  readonly answered: number;
  /** Reconcile passes per answered request (writes: what each one's NOTIFY cost the controller). */
  readonly reconcilesPerReq?: number;
};

/**
 * A process's CPU time so far in ms (Linux: /proc/PID/stat utime + stime, in clock ticks of
 * 10 ms); NaN where that cannot be read. Less disturbed than a rate by other work on a shared
 * machine: what a request costs the service, not how long it waited for a core.
 */
async function cpuTimeMs(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  try {
    return statCpuMs(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return Number.NaN;
  }
}

/** utime + stime of a /proc/PID/stat line, in ms (fields after the command's closing paren). */
function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The CPU time so far of this machine's processes named `postgres` (Linux), in ms. */
async function postgresCpuTimeMs(): Promise<number> {
  let total = 0;
  for (const entry of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (stat.includes("(postgres)")) total += statCpuMs(stat);
  }
  return total;
}

function percentile(sorted: readonly number[], p: number): number {
  return (
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
  );
}

/** `concurrency` workers send `request(worker, n)` back to back for `ms`; every answer must be 200. */
async function load(
  ms: number,
  request: (worker: number, n: number) => Promise<Answer>,
  pid?: number,
): Promise<Stats> {
  const latencies: number[] = [];
  const cpuBefore = await cpuTimeMs(pid);
  const postgresBefore = await postgresCpuTimeMs();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const sent = performance.now();
        const answer = await request(worker, n);
        if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.text}`);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const client = process.cpuUsage(clientBefore);
  latencies.sort((left, right) => left - right);
  return {
    rate: latencies.length / (elapsed / 1000),
    cpuMs: ((await cpuTimeMs(pid)) - cpuBefore) / latencies.length,
    clientCpuMs: (client.user + client.system) / 1000 / latencies.length,
    postgresCpuMs: ((await postgresCpuTimeMs()) - postgresBefore) / latencies.length,
    answered: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

type Target = {
  readonly url: string;
  readonly token: string;
  readonly imageIds: number[];
  /** The serving process, whose CPU time is read around each phase. */
  readonly pid: number | undefined;
  /** Reads the service's reconcile passes so far (undefined: the bare server has none). */
  readonly reconciles?: () => Promise<number>;
};

/** Reconcile passes so far: the count of orchestrator_reconcile_duration_seconds on /metrics. */
async function reconcilesSoFar(url: string, metricsToken: string): Promise<number> {
  const response = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
  });
  return metricValue(await response.text(), "orchestrator_reconcile_duration_seconds_count");
}

/** Reads then writes against a target, after a short warm-up of each. */
async function measure(target: Target): Promise<{ reads: Stats; writes: Stats }> {
  const headers = { authorization: `Bearer ${target.token}` };
  const client = httpClient(target.url, concurrency);
  const imageOf = (worker: number, n: number) =>
    target.imageIds[(worker + concurrency * n) % target.imageIds.length] as number;
  const read = (worker: number, n: number) =>
    client.send("GET", `/api/images/${imageOf(worker, n)}`, headers);
  // Each worker owns the images worker, worker + 8, …: writes never wait on each other's locks.
  const counts = new Map<number, number>();
  const write = (worker: number, n: number) => {
    const id = imageOf(worker, n);
    const next = counts.get(id) === 2 ? 1 : 2;
    counts.set(id, next);
    return client.send(
      "PATCH",
      `/api/images/${id}`,
      { ...headers, "content-type": "application/json" },
      JSON.stringify({ desired_instances: next }),
    );
  };
  let reads = none;
  let writes = none;
  try {
    if (phases.has("reads")) {
      await load(1_500, read);
      reads = await load(seconds * 1000, read, target.pid);
    }
    if (phases.has("writes")) {
      await load(1_500, write);
      const passesBefore = await target.reconciles?.();
      writes = await load(seconds * 1000, write, target.pid);
      const passesAfter = await target.reconciles?.();
      if (passesBefore !== undefined && passesAfter !== undefined) {
        // Counted at the phase's end: passes still running then fall in no window.
        writes = { ...writes, reconcilesPerReq: (passesAfter - passesBefore) / writes.answered };
      }
    }
  } finally {
    client.close();
  }
  return { reads, writes };
}

function spawnAndWait(args: string[], env: Record<string, string>, ready: () => Promise<boolean>) {
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stdout?.resume(); // the service's log: read and dropped, as a log collector would
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return (async () => {
    const deadline = Date.now() + 120_000;
    while (!(await ready().catch(() => false))) {
      if (child.exitCode !== null) throw new Error(`process exited during start:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`not ready in 120 s:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return child;
  })();
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** The user, their token and their images, written before the service starts. */
async function seed(location: StoreLocation): Promise<{ token: string; imageIds: number[] }> {
  const store = await openStore(location);
  try {
    const token = generateToken();
    const owner = await store.users.create("bench");
    await store.tokens.create({
      userId: owner.id,
      name: "bench",
      scope: "write",
      expiresAt: null,
      tokenHash: hashToken(token),
    });
    const imageIds: number[] = [];
    for (let index = 0; index < imageCount; index++) {
      const spec = { name: `bench-${index}`, desired_instances: 1 };
      const image = await seedImage(store, owner, spec, {
        sourceType: "upload",
        builtImagePrefix: "bench",
      });
      imageIds.push(image.id);
    }
    return { token, imageIds };
  } finally {
    await store.close();
  }
}

async function service(backend: "pglite" | "postgres"): Promise<{
  result: { reads: Stats; writes: Stats };
  floor: { reads: Stats; writes: Stats };
}> {
  let drop = async () => {};
  let databaseEnv: Record<string, string> = {};
  let location: StoreLocation | undefined;
  // The server's database first: a server that refuses leaves no folder behind.
  if (backend === "postgres") {
    const name = `orch_bench_${randomBytes(4).toString("hex")}`;
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    databaseEnv = { DATABASE_URL: url.toString() };
    location = { kind: "postgres", url: url.toString() };
    drop = async () => {
      const client = postgres(serverUrl, { max: 1, onnotice: () => {} });
      await client.unsafe(`drop database if exists ${name} with (force)`);
      await client.end();
    };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), "orch-bench-api-"));
  location ??= { kind: "pglite", dataDir: path.join(dataDir, "pglite") };
  try {
    const { token, imageIds } = await seed(location);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const metricsToken = randomBytes(16).toString("hex");
    const child = await spawnAndWait(
      [...serviceNodeArgs, ...startArguments()],
      {
        ...databaseEnv,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: "127.0.0.1",
        METRICS_TOKEN: metricsToken,
        ORCHESTRATOR_ID: `bench-api-${randomBytes(3).toString("hex")}`,
        BUILD_CONTEXT_BASE_DIR: path.join(dataDir, "contexts"),
        // Room for every image at 2 instances; each growing write still checks the quota.
        QUOTA_CPU: "256",
        QUOTA_MEMORY: "512g",
        QUOTA_INSTANCES: "1000",
        // The bench measures writes, not the per-token budget (600 a minute by default).
        RATE_LIMIT_WRITES_PER_MINUTE: "10000000",
      },
      async () => (await fetch(`${url}/healthz`)).ok,
    );
    let result: { reads: Stats; writes: Stats };
    try {
      result = await measure({
        url,
        token,
        imageIds,
        pid: child.pid,
        reconciles: () => reconcilesSoFar(url, metricsToken),
      });
    } finally {
      await stop(child);
    }
    return { result, floor: await floor(location, imageIds) };
  } finally {
    await drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function bare(): Promise<{ reads: Stats; writes: Stats }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await spawnAndWait(
    ["--disable-warning=ExperimentalWarning", "bench/api/support-bare-server.ts", String(port)],
    {},
    async () => (await fetch(`${url}/api/images/1`)).ok,
  );
  try {
    return await measure({
      url,
      token: "bare",
      imageIds: Array.from({ length: imageCount }, (_, index) => index + 1),
      pid: child.pid,
    });
  } finally {
    await stop(child);
  }
}

/** The same requests through the floor server, on the database the service just used. */
async function floor(
  location: StoreLocation,
  imageIds: number[],
): Promise<{ reads: Stats; writes: Stats }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await spawnAndWait(
    [
      "--disable-warning=ExperimentalWarning",
      "bench/api/support-floor-server.ts",
      String(port),
      JSON.stringify(location),
    ],
    {},
    async () => (await fetch(`${url}/api/images/${imageIds[0]}`)).ok,
  );
  try {
    return await measure({ url, token: "floor", imageIds, pid: child.pid });
  } finally {
    await stop(child);
  }
}

const fields = (stats: Stats, baseline: Stats, lowest: Stats) => ({
  req_s: Math.round(stats.rate),
  p50_ms: stats.p50.toFixed(1),
  p99_ms: stats.p99.toFixed(1),
  cpu_ms_per_req: stats.cpuMs.toFixed(2),
  client_cpu_ms_per_req: stats.clientCpuMs.toFixed(2),
  postgres_cpu_ms_per_req: stats.postgresCpuMs.toFixed(2),
  ...(stats.reconcilesPerReq === undefined
    ? {}
    : { reconciles_per_req: stats.reconcilesPerReq.toFixed(2) }),
  bare_req_s: Math.round(baseline.rate),
  bare_p99_ms: baseline.p99.toFixed(1),
  bare_cpu_ms_per_req: baseline.cpuMs.toFixed(2),
  bare_client_cpu_ms_per_req: baseline.clientCpuMs.toFixed(2),
  ratio: (stats.rate / baseline.rate).toFixed(3),
  floor_req_s: Math.round(lowest.rate),
  floor_p99_ms: lowest.p99.toFixed(1),
  floor_cpu_ms_per_req: lowest.cpuMs.toFixed(2),
  floor_client_cpu_ms_per_req: lowest.clientCpuMs.toFixed(2),
  floor_postgres_cpu_ms_per_req: lowest.postgresCpuMs.toFixed(2),
  of_floor: (stats.rate / lowest.rate).toFixed(2),
});

process.stdout.write(
  `api bench: concurrency ${concurrency}, ${seconds} s per phase, ${imageCount} images; Postgres server ${new URL(serverUrl).host}\n`,
);
const baseline = await bare();
for (const backend of backends) {
  const { result, floor: lowest } = await service(backend);
  if (phases.has("reads")) {
    report(`api ${backend} reads`, fields(result.reads, baseline.reads, lowest.reads));
  }
  if (!phases.has("writes")) continue;
  report(`api ${backend} writes`, {
    ...fields(result.writes, baseline.writes, lowest.writes),
    goal: backend === "postgres" ? ">= 1000 req/s, p99 < 20 ms" : ">= 500 req/s",
  });
}
