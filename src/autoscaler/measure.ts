import type { AutoscaleMetric } from "../domain/autoscale.ts";
import type { HealthSnapshot } from "../store/health-snapshots-repository.ts";
import type { InstanceRecord } from "../store/records.ts";

/** The instances an autoscaler decision counts: running, wanted running, not being removed. */
export function scalingInstances(instances: readonly InstanceRecord[]): InstanceRecord[] {
  return instances.filter(
    (instance) =>
      instance.desired_state === "running" &&
      instance.observed_state === "running" &&
      instance.deletion_requested_at === null,
  );
}

/**
 * One value per counted instance, undefined where there is none: cpu and memory are the
 * instance's latest recent health sample (percent of its own limit); requests per second are
 * the hostname's rate shared evenly (the router balances round robin). Pure.
 */
export function samplesOf(
  metric: AutoscaleMetric,
  instances: readonly InstanceRecord[],
  snapshots: readonly HealthSnapshot[],
  requestRate: number | undefined,
): (number | undefined)[] {
  if (metric === "requests_per_second") {
    return instances.map(() =>
      requestRate === undefined ? undefined : requestRate / Math.max(1, instances.length),
    );
  }
  const byInstance = new Map(snapshots.map((snapshot) => [snapshot.instance_id, snapshot]));
  return instances.map((instance) => {
    const snapshot = byInstance.get(instance.id);
    const value = metric === "cpu" ? snapshot?.cpu_usage : snapshot?.memory_usage;
    return value === null || value === undefined ? undefined : value;
  });
}
