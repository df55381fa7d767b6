import type { HealthStatus } from "../store/schema.ts";

/**
 * Health status from one sample, with documented thresholds (percent of the container's own
 * limit for CPU and memory, of the host's Docker disk for disk):
 * - `stopped`: the container is not running;
 * - `critical`: memory ≥ 95 %, disk ≥ 95 %, CPU ≥ 95 %, or the health check fails;
 * - `warning`: memory ≥ 80 %, disk ≥ 85 %, or CPU ≥ 80 %;
 * - `healthy`: otherwise.
 */
export const thresholds = {
  warning: { cpu: 80, memory: 80, disk: 85 },
  critical: { cpu: 95, memory: 95, disk: 95 },
} as const;

export type Sample = {
  readonly running: boolean;
  readonly cpuUsage: number | null;
  readonly memoryUsage: number | null;
  readonly diskUsage: number | null;
  readonly probeFailing: boolean;
};

export function classify(sample: Sample): HealthStatus {
  if (!sample.running) return "stopped";
  const over = (value: number | null, limit: number) => value !== null && value >= limit;
  if (
    sample.probeFailing ||
    over(sample.memoryUsage, thresholds.critical.memory) ||
    over(sample.diskUsage, thresholds.critical.disk) ||
    over(sample.cpuUsage, thresholds.critical.cpu)
  ) {
    return "critical";
  }
  if (
    over(sample.memoryUsage, thresholds.warning.memory) ||
    over(sample.diskUsage, thresholds.warning.disk) ||
    over(sample.cpuUsage, thresholds.warning.cpu)
  ) {
    return "warning";
  }
  return "healthy";
}
