/**
 * Start-up time and idle memory of the service: `node bench/startup/startup.ts`.
 *
 * Runs the service as `npm start` does (node on src/main.ts; npm's own ~0.3 s is left out) and
 * times spawn → first 200 from /healthz, then samples the idle process's RSS:
 * - fresh: a new DATA_DIR and an empty compile cache, as the first start of a new clone;
 * - restart: the same DATA_DIR and compile cache again, after a clean stop.
 * Each on the embedded database (PGlite) and on a Postgres server (a scratch database on
 * BENCH_DATABASE_URL / TEST_DATABASE_URL), in the same run; prints the medians, the ratio
 * PGlite / server, and the goals (fresh < 1.5 s, restart < 1 s, idle RSS < 200 MiB on PGlite).
 * Knobs: BENCH_STARTS (3 of each), BENCH_IDLE_SECONDS (10: RSS is the median of the last half).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { freePort } from "../../test/support/spawn-server.ts";
import { median, report, startArguments } from "../support.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const starts = Number(process.env.BENCH_STARTS ?? 3);
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const serverUrl =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://orchestrator_test:orchestrator_test@127.0.0.1:5432/orchestrator_test";

type Run = { readonly readyMs: number; readonly idleRssMiB: number };

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** One start: spawn → /healthz 200, then idle RSS; stops the process cleanly. */
async function startOnce(env: Record<string, string>): Promise<Run> {
  const port = await freePort();
  const args = startArguments();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      ...env,
      PORT: `${port}`,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited during start:\n${stderr}`);
      if (performance.now() - started > 120_000) throw new Error("no /healthz in 120 s");
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const readyMs = performance.now() - started;
    const samples: number[] = [];
    for (let second = 0; second < idleSeconds; second++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      samples.push(await rssMiB(child.pid as number));
    }
    return { readyMs, idleRssMiB: median(samples.slice(Math.floor(samples.length / 2))) };
  } finally {
    await stop(child);
  }
}

type Backend = {
  readonly name: string;
  /** A new, empty database: its environment and how to remove it. */
  fresh(): Promise<{ env: Record<string, string>; drop(): Promise<void> }>;
};

const pglite: Backend = {
  name: "pglite",
  fresh: async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "orch-bench-startup-"));
    return {
      env: { DATA_DIR: dataDir },
      drop: () => rm(dataDir, { recursive: true, force: true }),
    };
  },
};

const server: Backend = {
  name: "postgres",
  fresh: async () => {
    const name = `orch_bench_${randomBytes(4).toString("hex")}`;
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const dataDir = await mkdtemp(path.join(tmpdir(), "orch-bench-startup-"));
    return {
      env: { DATA_DIR: dataDir, DATABASE_URL: url.toString() },
      drop: async () => {
        const client = postgres(serverUrl, { max: 1, onnotice: () => {} });
        await client.unsafe(`drop database if exists ${name} with (force)`);
        await client.end();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  },
};

type Result = { fresh: Run[]; restart: Run[] };

async function measure(backend: Backend): Promise<Result> {
  const result: Result = { fresh: [], restart: [] };
  for (let round = 0; round < starts; round++) {
    const database = await backend.fresh();
    const compileCache = await mkdtemp(path.join(tmpdir(), "orch-bench-compile-cache-"));
    const env = {
      ...database.env,
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      ORCHESTRATOR_ID: `bench-startup-${randomBytes(3).toString("hex")}`,
      NODE_COMPILE_CACHE: compileCache,
      BUILD_CONTEXT_BASE_DIR: path.join(database.env.DATA_DIR as string, "contexts"),
    };
    try {
      result.fresh.push(await startOnce(env));
      result.restart.push(await startOnce(env));
    } finally {
      await database.drop();
      await rm(compileCache, { recursive: true, force: true });
    }
  }
  return result;
}

const summary = (runs: Run[]) => ({
  readyMs: median(runs.map((run) => run.readyMs)),
  rssMiB: median(runs.map((run) => run.idleRssMiB)),
});

process.stdout.write(
  `startup bench: ${starts} fresh starts and restarts per backend, idle RSS over ${idleSeconds} s; Postgres server ${new URL(serverUrl).host}\n`,
);
const results = { pglite: await measure(pglite), postgres: await measure(server) };
for (const phase of ["fresh", "restart"] as const) {
  const embedded = summary(results.pglite[phase]);
  const baseline = summary(results.postgres[phase]);
  const goalMs = phase === "fresh" ? 1_500 : 1_000;
  report(`startup ${phase}`, {
    pglite_ms: Math.round(embedded.readyMs),
    server_ms: Math.round(baseline.readyMs),
    ratio: (embedded.readyMs / baseline.readyMs).toFixed(2),
    goal: `pglite < ${goalMs} ms`,
    runs_ms: results.pglite[phase].map((run) => Math.round(run.readyMs)).join("/"),
  });
  report(`idle rss ${phase}`, {
    pglite_mib: Math.round(embedded.rssMiB),
    server_mib: Math.round(baseline.rssMiB),
    ratio: (embedded.rssMiB / baseline.rssMiB).toFixed(2),
    goal: "pglite < 200 MiB",
  });
}
