/**
 * Health monitoring cost: controller CPU and Docker engine CPU (dockerd + containerd) while
 * monitoring 100 containers at a 5 s interval, as a fraction of one core, against the same
 * fleet with monitoring effectively off, in the same run. Goal: controller under 5 % of a core.
 * Run: `node bench/monitor/monitor.ts` (BENCH_CONTAINERS, BENCH_WINDOW_SECONDS change it).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Service, startService } from "../../src/composition-root.ts";
import { loadConfig } from "../../src/config.ts";
import { connectDocker } from "../../src/docker/connection.ts";
import { createLogger } from "../../src/logger.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import { removeManagedContainers } from "../../test/support/test-server.ts";
import { report, until } from "../support.ts";

const containers = Number(process.env.BENCH_CONTAINERS ?? 100);
const windowSeconds = Number(process.env.BENCH_WINDOW_SECONDS ?? 30);
const docker = connectDocker(process.env.DOCKER_HOST);
const ticksPerSecond = 100; // USER_HZ on Linux

function pidsOf(name: string): number[] {
  try {
    return execFileSync("pgrep", ["-x", name], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

async function engineTicks(): Promise<number> {
  let total = 0;
  for (const pid of [...pidsOf("dockerd"), ...pidsOf("containerd")]) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return total;
}

/** CPU of this process and of the engine over a window, as fractions of one core. */
async function measure(seconds: number): Promise<{ controller: number; engine: number }> {
  const cpuBefore = process.cpuUsage();
  const engineBefore = await engineTicks();
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const engine = (await engineTicks()) - engineBefore;
  return {
    controller: (cpu.user + cpu.system) / 1e6 / elapsed,
    engine: engine / ticksPerSecond / elapsed,
  };
}

async function start(
  dataDir: string,
  orchestratorId: string,
  intervalSeconds: number,
): Promise<Service> {
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    ORCHESTRATOR_ID: orchestratorId,
    LOG_LEVEL: "warn",
    HEALTH_INTERVAL_SECONDS: String(intervalSeconds),
    MAX_INSTANCES_CAP: String(Math.max(containers, 100)),
  });
  return startService(config, createLogger(config.logLevel));
}

export async function main() {
  await ensureBaseImage(docker);
  await ensureTestImages(docker);
  const dataDir = await mkdtemp(path.join(tmpdir(), "orch-bench-monitor-"));
  const orchestratorId = `bench-mon-${randomBytes(3).toString("hex")}`;
  try {
    // Phase 1: bring up the fleet, then measure with monitoring off (one sample at start only).
    let service = await start(dataDir, orchestratorId, 86_400);
    const headers = {
      authorization: `Bearer ${service.adminToken.token}`,
      "content-type": "application/json",
    };
    const created = (await (
      await fetch(`${service.url}/api/images`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          name: "fleet",
          image: testImages.httpd,
          desired_instances: containers,
          max_instances: containers,
          cpu_limit: "0.05",
          memory_limit: "8m",
        }),
      })
    ).json()) as { id: number };
    await until(
      async () => {
        const body = (await (
          await fetch(`${service.url}/api/images/${created.id}/containers`, { headers })
        ).json()) as {
          items: Array<{ observed_state: string }>;
        };
        return body.items.filter((item) => item.observed_state === "running").length === containers;
      },
      600_000,
      `${containers} running`,
    );
    await new Promise((resolve) => setTimeout(resolve, 5_000)); // let the start-up sample and events settle
    const idle = await measure(windowSeconds);
    await service.stop();

    // Phase 2: the same fleet, monitored every 5 s.
    service = await start(dataDir, orchestratorId, 5);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const monitored = await measure(windowSeconds);
    const samples = await service.store.db
      .selectFrom("health_snapshots")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    await service.stop();

    report("monitor", {
      containers,
      interval: "5s",
      window: `${windowSeconds}s`,
      snapshots: Number(samples.n),
      controller_cpu_monitoring: `${(monitored.controller * 100).toFixed(2)}% of a core`,
      controller_cpu_idle: `${(idle.controller * 100).toFixed(2)}% of a core`,
      engine_cpu_monitoring: `${(monitored.engine * 100).toFixed(2)}% of a core`,
      engine_cpu_idle: `${(idle.engine * 100).toFixed(2)}% of a core`,
      controller_ratio: `${(monitored.controller / Math.max(idle.controller, 1e-6)).toFixed(2)}x`,
      goal: "controller < 5% of a core",
    });
    return { idle, monitored };
  } finally {
    await removeManagedContainers(orchestratorId);
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
