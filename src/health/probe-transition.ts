import { restartDelayMs } from "../domain/crash-backoff.ts";
import type { HealthCheck } from "../domain/image-spec.ts";
import type { InstanceRecord, ObservedPatch } from "../store/records.ts";
import type { ProbeResult } from "../store/schema.ts";

export type ProbeTransition = {
  readonly patch: ObservedPatch;
  readonly event?: "container.healthy" | "container.unhealthy";
};

/**
 * What one probe result means for an instance. Pure. Failures during the start period do not
 * count; `retries` failures in a row make it unhealthy (once: one event), which also counts as a
 * crash for the restart back-off so that replacing it can never become a tight loop; one success
 * makes it healthy again.
 */
export function probeTransition(
  record: InstanceRecord,
  result: ProbeResult,
  check: Pick<HealthCheck, "retries">,
  options: {
    readonly inStartPeriod: boolean;
    readonly now: Date;
    readonly dockerVerdict?: boolean;
  },
): ProbeTransition {
  if (result.ok) {
    const patch: ObservedPatch = { last_probe: result, probe_failures: 0 };
    if (record.health !== "healthy")
      return { patch: { ...patch, health: "healthy" }, event: "container.healthy" };
    return { patch };
  }
  if (options.inStartPeriod && record.health !== "healthy")
    return { patch: { last_probe: result } };
  // Docker's own HEALTHCHECK already counted its retries before saying "unhealthy".
  const failures = options.dockerVerdict ? check.retries : record.probe_failures + 1;
  const patch: ObservedPatch = { last_probe: result, probe_failures: failures };
  if (failures < check.retries || record.health === "unhealthy") return { patch };
  const consecutive = record.consecutive_failures + 1;
  return {
    patch: {
      ...patch,
      health: "unhealthy",
      consecutive_failures: consecutive,
      next_restart_at: new Date(options.now.getTime() + restartDelayMs(consecutive)),
      last_error: `health check failed ${failures} times: ${result.error ?? `HTTP ${result.status_code}`}`,
    },
    event: "container.unhealthy",
  };
}
