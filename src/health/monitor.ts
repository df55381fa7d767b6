import { statfs } from "node:fs/promises";
import type { Logger } from "../logger.ts";
import type { Store } from "../store/database.ts";
import type { NewHealthSnapshot } from "../store/health-snapshots-repository.ts";
import { classify } from "./classify.ts";
import type { ContainerStats } from "./stats-port.ts";
import type { StatsSample } from "./usage.ts";
import { usageOf } from "./usage.ts";

export type MonitorOptions = {
  readonly store: Pick<Store, "instances" | "healthSnapshots">;
  readonly stats: ContainerStats;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly retentionDays: number;
  /** Docker calls in flight at once; samples are also spread over the interval. */
  readonly concurrency?: number;
  /** Called with every sample, e.g. to export the latest figures as metrics. */
  readonly onSample?: (sample: NewHealthSnapshot) => void;
  /**
   * Whether the Docker engine answers now. While it is away, running containers are not
   * sampled: a stats request per container against a missing engine only adds to the storm.
   */
  readonly engineReachable?: () => boolean;
};

export type HealthMonitor = {
  stop(): void /** Samples everything once, now. */;
  sampleAll(): Promise<number>;
};

/** Waits, or less when the signal aborts. */
function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, milliseconds);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

async function diskUsagePercent(path: string | undefined): Promise<number | null> {
  if (path === undefined) return null;
  try {
    const stats = await statfs(path);
    if (stats.blocks === 0) return null;
    return Math.round(((stats.blocks - stats.bfree) / stats.blocks) * 10_000) / 100;
  } catch {
    return null; // a remote engine: its disk is not ours to read
  }
}

/**
 * Samples every managed container every interval: CPU and memory as a share of its limits,
 * network and block I/O, the host's Docker disk, and a status by documented thresholds
 * (src/health/classify.ts). Samples are spread across the interval with bounded concurrency,
 * so thousands of containers never hit the engine at once. Snapshots older than the retention
 * are pruned.
 */
export function startHealthMonitor(options: MonitorOptions): HealthMonitor {
  const previous = new Map<string, StatsSample>();
  let stopped = false;
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let rootDir: string | undefined;
  let rootDirKnown = false;
  let lastPrune = 0;

  async function sampleAll(spread = false): Promise<number> {
    const started = Date.now();
    if (!rootDirKnown) {
      rootDir = await options.stats.dockerRootDir().catch(() => undefined);
      rootDirKnown = true;
    }
    const disk = await diskUsagePercent(rootDir);
    const rows = await options.store.instances.listSampleTargets();
    const spacingMs = spread && rows.length > 0 ? (options.intervalMs * 0.8) / rows.length : 0;
    // The engine answers a stats request at its next collection tick (about 1 s): enough
    // requests in flight to cover every container within the interval, and never more than 64.
    const concurrency =
      options.concurrency ??
      Math.min(64, Math.max(4, Math.ceil((rows.length * 1_200) / (options.intervalMs * 0.8))));
    const snapshots: NewHealthSnapshot[] = [];
    const running = new Set<Promise<void>>();
    for (const [index, row] of rows.entries()) {
      if (stopped) break;
      const due = started + index * spacingMs;
      if (due > Date.now()) await sleep(due - Date.now(), stopping.signal);
      while (running.size >= concurrency) await Promise.race(running);
      const task = (async () => {
        const containerId = row.container_id;
        const base = {
          instance_id: row.id,
          image_id: row.image_id,
          user_id: row.user_id,
          container_id: containerId,
          disk_usage: disk,
        };
        if (row.observed_state !== "running") {
          previous.delete(containerId);
          snapshots.push({ ...base, status: "stopped" });
          return;
        }
        if (options.engineReachable?.() === false) return;
        const stats = await options.stats
          .sample(containerId, stopping.signal)
          .catch(() => undefined);
        if (stats === undefined) return;
        const usage = usageOf(previous.get(containerId), stats, row.nano_cpus, row.memory_bytes);
        previous.set(containerId, stats);
        snapshots.push({
          ...base,
          cpu_usage: usage.cpuUsage,
          memory_usage: usage.memoryUsage,
          memory_bytes: usage.memoryBytes,
          network_rx_bytes: usage.networkRxBytes,
          network_tx_bytes: usage.networkTxBytes,
          block_read_bytes: usage.blockReadBytes,
          block_write_bytes: usage.blockWriteBytes,
          status: classify({
            running: true,
            cpuUsage: usage.cpuUsage,
            memoryUsage: usage.memoryUsage,
            diskUsage: disk,
            probeFailing: row.health === "unhealthy",
          }),
        });
      })().catch((error: unknown) =>
        options.logger.debug({ instanceId: row.id, err: error }, "health sample failed"),
      );
      running.add(task);
      void task.finally(() => running.delete(task));
    }
    await Promise.all(running);
    const live = new Set(rows.map((row) => row.container_id));
    for (const id of previous.keys()) if (!live.has(id)) previous.delete(id);
    if (stopped) return 0;
    if (snapshots.length > 0) {
      await options.store.healthSnapshots.insertMany(snapshots);
      for (const snapshot of snapshots) options.onSample?.(snapshot);
    }
    if (Date.now() - lastPrune > 3_600_000) {
      lastPrune = Date.now();
      const pruned = await options.store.healthSnapshots.pruneOlderThan(options.retentionDays);
      if (pruned > 0) options.logger.info({ count: pruned }, "old health snapshots pruned");
    }
    return snapshots.length;
  }

  let inProgress: Promise<unknown> = Promise.resolve();
  const loop = () => {
    if (stopped) return;
    const started = Date.now();
    inProgress = sampleAll(true)
      .catch((error: unknown) => options.logger.warn({ err: error }, "health sampling failed"))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(loop, Math.max(0, options.intervalMs - (Date.now() - started)));
        timer.unref();
      });
  };
  timer = setTimeout(loop, 1_000);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      stopping.abort();
      if (timer !== undefined) clearTimeout(timer);
      await inProgress;
    },
    sampleAll: () => sampleAll(false),
  };
}
