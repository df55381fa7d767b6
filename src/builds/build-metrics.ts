import { Counter, Gauge, Histogram, type Metrics } from "../metrics/registry.ts";
import type { BuildQueue } from "./build-queue.ts";

/** How builds end, how long they take, and how many wait: Prometheus metrics of the pipeline. */
export function createBuildMetrics(metrics: Metrics, queue: () => BuildQueue) {
  const registers = [metrics.registry];
  const finished = new Counter({
    name: "orchestrator_builds_total",
    help: "Builds that ended, by result (ready, step_failed, timeout, build_error, stopped)",
    labelNames: ["result"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "orchestrator_build_duration_seconds",
    help: "Time of one build, from its start to its end, by result",
    labelNames: ["result"] as const,
    buckets: [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800],
    registers,
  });
  new Gauge({
    name: "orchestrator_build_queue_depth",
    help: "Builds waiting for a slot",
    registers,
    collect() {
      this.set(queue().size.queued);
    },
  });
  new Gauge({
    name: "orchestrator_builds_running",
    help: "Builds running now",
    registers,
    collect() {
      this.set(queue().size.running);
    },
  });
  return {
    ended(result: string, seconds: number): void {
      finished.inc({ result });
      duration.observe({ result }, seconds);
    },
  };
}
