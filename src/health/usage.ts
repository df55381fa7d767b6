/**
 * Resource usage from Docker stats samples (the engine's JSON, cgroup v1 or v2). Pure: CPU is
 * a rate, so it needs two samples of the same container; the monitor keeps the previous one.
 */

export type StatsSample = {
  readonly read?: string;
  readonly cpu_stats?: {
    readonly cpu_usage?: {
      readonly total_usage?: number;
      readonly percpu_usage?: readonly number[];
    };
    readonly system_cpu_usage?: number;
    readonly online_cpus?: number;
  };
  readonly memory_stats?: {
    readonly usage?: number;
    readonly limit?: number;
    readonly stats?: Readonly<Record<string, number>>;
  };
  readonly networks?: Readonly<
    Record<string, { readonly rx_bytes?: number; readonly tx_bytes?: number }>
  >;
  readonly blkio_stats?: {
    readonly io_service_bytes_recursive?: ReadonlyArray<{
      readonly op?: string;
      readonly value?: number;
    }> | null;
  };
};

export type Usage = {
  /** Percent of the CPU limit (NanoCpus) used between the two samples; null without a previous one. */
  readonly cpuUsage: number | null;
  /** Percent of the memory limit, page cache excluded (as `docker stats` shows it). */
  readonly memoryUsage: number | null;
  readonly memoryBytes: number | null;
  readonly networkRxBytes: number;
  readonly networkTxBytes: number;
  readonly blockReadBytes: number;
  readonly blockWriteBytes: number;
};

const round = (value: number) => Math.round(value * 100) / 100;

export function cpuPercentOfLimit(
  previous: StatsSample | undefined,
  current: StatsSample,
  nanoCpus: number,
): number | null {
  const before = previous?.cpu_stats;
  const now = current.cpu_stats;
  const usedNs = (now?.cpu_usage?.total_usage ?? 0) - (before?.cpu_usage?.total_usage ?? 0);
  const systemNs = (now?.system_cpu_usage ?? 0) - (before?.system_cpu_usage ?? 0);
  const cpus = now?.online_cpus ?? now?.cpu_usage?.percpu_usage?.length ?? 1;
  if (before === undefined || systemNs <= 0 || usedNs < 0) return null;
  // Share of the whole host in cores, then as a share of the container's own limit.
  const cores = (usedNs / systemNs) * cpus;
  const limitCores = nanoCpus > 0 ? nanoCpus / 1e9 : cpus;
  return round((cores / limitCores) * 100);
}

export function usageOf(
  previous: StatsSample | undefined,
  current: StatsSample,
  nanoCpus: number,
  memoryLimitBytes: number,
): Usage {
  const memory = current.memory_stats;
  const cache =
    memory?.stats?.inactive_file ?? memory?.stats?.total_inactive_file ?? memory?.stats?.cache ?? 0;
  const memoryBytes = memory?.usage === undefined ? null : Math.max(0, memory.usage - cache);
  const limit = memoryLimitBytes > 0 ? memoryLimitBytes : (memory?.limit ?? 0);
  let rx = 0;
  let tx = 0;
  for (const network of Object.values(current.networks ?? {})) {
    rx += network.rx_bytes ?? 0;
    tx += network.tx_bytes ?? 0;
  }
  let read = 0;
  let write = 0;
  for (const entry of current.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op?.toLowerCase();
    if (op === "read") read += entry.value ?? 0;
    if (op === "write") write += entry.value ?? 0;
  }
  return {
    cpuUsage: cpuPercentOfLimit(previous, current, nanoCpus),
    memoryUsage: memoryBytes === null || limit <= 0 ? null : round((memoryBytes / limit) * 100),
    memoryBytes,
    networkRxBytes: rx,
    networkTxBytes: tx,
    blockReadBytes: read,
    blockWriteBytes: write,
  };
}
