import { Counter, Gauge, Histogram, type Metrics } from "../metrics/registry.ts";
import type { WorkQueue } from "./workqueue.ts";

/**
 * The controller's Prometheus metrics: reconcile durations and errors, workqueue depth and age,
 * whether this process leads, and whether the engine answers.
 */
export function createControllerMetrics(
  metrics: Metrics,
  currentQueue: () => WorkQueue<number>,
  engineReachable: () => boolean,
) {
  const registers = [metrics.registry];
  const reconcileDuration = new Histogram({
    name: "orchestrator_reconcile_duration_seconds",
    help: "Time of one reconcile(imageId) pass, by result",
    labelNames: ["result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const reconcileErrors = new Counter({
    name: "orchestrator_reconcile_errors_total",
    help: "Failed reconcile passes, by reason",
    labelNames: ["reason"] as const,
    registers,
  });
  new Gauge({
    name: "orchestrator_workqueue_depth",
    help: "Keys waiting in the reconcile workqueue",
    registers,
    collect() {
      this.set(currentQueue().length);
    },
  });
  new Gauge({
    name: "orchestrator_workqueue_in_flight",
    help: "Keys being reconciled right now",
    registers,
    collect() {
      this.set(currentQueue().processingCount);
    },
  });
  new Gauge({
    name: "orchestrator_workqueue_oldest_item_age_seconds",
    help: "How long the oldest waiting key has waited",
    registers,
    collect() {
      this.set(currentQueue().oldestAgeMs() / 1000);
    },
  });
  const waitingForEngine = new Gauge({
    name: "orchestrator_reconciles_waiting_for_engine",
    help: "Keys taken by a worker and parked until the Docker engine answers again",
    registers,
  });
  const resyncDuration = new Histogram({
    name: "orchestrator_resync_duration_seconds",
    help: "Time of one full resync (listing Docker and the database)",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  new Gauge({
    name: "orchestrator_docker_engine_up",
    help: "1 while the Docker engine answers, 0 while it is away (work waits for it)",
    registers,
    collect() {
      this.set(engineReachable() ? 1 : 0);
    },
  });
  const leading = new Gauge({
    name: "orchestrator_controller_leader",
    help: "1 while this process leads (runs the controller), 0 otherwise",
    registers,
  });
  leading.set(0);
  return { reconcileDuration, reconcileErrors, resyncDuration, leading, waitingForEngine };
}

export type ControllerMetrics = ReturnType<typeof createControllerMetrics>;
