import { Counter, type Metrics } from "../metrics/registry.ts";

/** The autoscaler's Prometheus series: every evaluation by its reason, every move by direction. */
export function createAutoscalerMetrics(metrics: Metrics) {
  const registers = [metrics.registry];
  const evaluations = new Counter({
    name: "orchestrator_autoscaler_evaluations_total",
    help: "Autoscaled images looked at, by the decision's reason (within_tolerance, scale_up, no_samples, quota_exceeded, …)",
    labelNames: ["reason"] as const,
    registers,
  });
  const scaled = new Counter({
    name: "orchestrator_autoscaler_scaled_total",
    help: "desired_instances written by the autoscaler, by direction",
    labelNames: ["direction"] as const,
    registers,
  });
  return { evaluations, scaled };
}

export type AutoscalerMetrics = ReturnType<typeof createAutoscalerMetrics>;
