import { Gauge, type Metrics } from "../metrics/registry.ts";
import type { Store } from "../store/database.ts";
import type { NewHealthSnapshot } from "../store/health-snapshots-repository.ts";

/**
 * Fleet metrics: instances by desired and observed state per image (counted on scrape with one
 * query), and each container's CPU and memory from its last health sample. An instance's
 * series go when the instance does (checked at each scrape), so a scrape never names what is
 * gone and the series do not pile up.
 */
export function createFleetMetrics(metrics: Metrics, store: Pick<Store, "instances">) {
  const registers = [metrics.registry];
  /** Instances that have per-instance series: instance id → image id. */
  const tracked = new Map<string, string>();
  const perInstance: Gauge<"image_id" | "instance_id">[] = [];
  async function dropGone(): Promise<void> {
    if (tracked.size === 0) return;
    const existing = await store.instances.existing([...tracked.keys()]);
    for (const [instanceId, imageId] of tracked) {
      if (existing.has(instanceId)) continue;
      tracked.delete(instanceId);
      for (const gauge of perInstance) gauge.remove({ image_id: imageId, instance_id: instanceId });
    }
  }
  new Gauge({
    name: "orchestrator_instances",
    help: "Instances by image, desired state and observed state",
    labelNames: ["image_id", "desired_state", "observed_state"] as const,
    registers,
    async collect() {
      // Registered first, so collected first: the per-instance gauges below are pruned already.
      await dropGone();
      const rows = await store.instances.countByState();
      this.reset();
      for (const row of rows) {
        this.set(
          {
            image_id: String(row.image_id),
            desired_state: row.desired_state,
            observed_state: row.observed_state,
          },
          row.count,
        );
      }
    },
  });
  const cpu = new Gauge({
    name: "orchestrator_container_cpu_usage_ratio",
    help: "CPU used as a fraction of the container's limit, from the last health sample",
    labelNames: ["image_id", "instance_id"] as const,
    registers,
  });
  const memory = new Gauge({
    name: "orchestrator_container_memory_usage_bytes",
    help: "Memory used (page cache excluded), from the last health sample",
    labelNames: ["image_id", "instance_id"] as const,
    registers,
  });
  const memoryRatio = new Gauge({
    name: "orchestrator_container_memory_usage_ratio",
    help: "Memory used as a fraction of the container's limit, from the last health sample",
    labelNames: ["image_id", "instance_id"] as const,
    registers,
  });
  perInstance.push(cpu, memory, memoryRatio);
  return {
    onSample(sample: NewHealthSnapshot): void {
      const labels = { image_id: String(sample.image_id), instance_id: sample.instance_id };
      if (sample.status === "stopped") {
        for (const gauge of perInstance) gauge.remove(labels);
        tracked.delete(sample.instance_id);
        return;
      }
      tracked.set(sample.instance_id, labels.image_id);
      if (typeof sample.cpu_usage === "number") cpu.set(labels, sample.cpu_usage / 100);
      if (typeof sample.memory_bytes === "number") memory.set(labels, sample.memory_bytes);
      if (typeof sample.memory_usage === "number")
        memoryRatio.set(labels, sample.memory_usage / 100);
    },
  };
}
