/**
 * The autoscaler's decision, pure: from the image's samples, its bounds and the recent
 * recommendations, how many instances it should want. The lessons of Kubernetes' HPA
 * (pkg/controller/podautoscaler): a tolerance band around the target, missing samples assumed
 * at the value that dampens the move (0 going up, the target going down) so a gap never causes
 * flapping, a step limit going up, and going down only to the highest recommendation of the
 * stabilization window.
 */

export const autoscaleMetrics = ["cpu", "memory", "requests_per_second"] as const;
export type AutoscaleMetric = (typeof autoscaleMetrics)[number];

export type AutoscaleSpec = {
  readonly metric: AutoscaleMetric;
  /** Per instance: a percentage of the limit (cpu, memory) or requests per second. */
  readonly target: number;
  /** At most this much more per decision: a percentage of the current count, or a count. */
  readonly scaleUpStep: { readonly percent: number } | { readonly instances: number };
  /** Going down only to the highest recommendation of this long ago until now. */
  readonly scaleDownStabilizationMs: number;
  /** |value/target − 1| within this changes nothing (HPA's default 0.1). */
  readonly tolerance?: number;
};

export type Recommendation = { readonly at: number; readonly instances: number };

export type AutoscaleInput = {
  readonly spec: AutoscaleSpec;
  readonly minInstances: number;
  readonly maxInstances: number;
  /** The desired count now. */
  readonly current: number;
  /**
   * One entry per running instance: its value (cpu/memory %, or its requests per second), or
   * undefined when it has no sample yet (just started, the stats call failed).
   */
  readonly samples: readonly (number | undefined)[];
  /** Earlier recommendations (this function's `recommendation`), oldest first. */
  readonly history: readonly Recommendation[];
  readonly now: number;
};

export type AutoscaleReason =
  | "no_samples"
  | "within_tolerance"
  | "scale_up"
  | "scale_up_step_limited"
  | "scale_down"
  | "scale_down_stabilized"
  | "at_max"
  | "at_min"
  | "below_min"
  | "above_max"
  /** scale_to_zero_after: no request for that long (autoscaler), and held at 0 until woken. */
  | "idle"
  | "scaled_to_zero";

export type AutoscaleDecision = {
  readonly desired: number;
  readonly reason: AutoscaleReason;
  /** The mean value per instance the decision used (missing samples filled), or null. */
  readonly value: number | null;
  /** What the samples alone ask for, before stabilization and the step limit: keep it in history. */
  readonly recommendation: number;
};

const defaultTolerance = 0.1;

const mean = (values: readonly number[]) =>
  values.reduce((sum, value) => sum + value, 0) / values.length;

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/** Decides the desired count; `desired === current` means no write (and no event). */
export function decideScale(input: AutoscaleInput): AutoscaleDecision {
  const { spec, minInstances, maxInstances, current } = input;
  const tolerance = spec.tolerance ?? defaultTolerance;
  // Bounds first: a count outside them (bounds just changed) is brought back, whatever the load.
  if (current < minInstances) {
    return {
      desired: minInstances,
      reason: "below_min",
      value: null,
      recommendation: minInstances,
    };
  }
  if (current > maxInstances) {
    return {
      desired: maxInstances,
      reason: "above_max",
      value: null,
      recommendation: maxInstances,
    };
  }
  const present = input.samples.filter((value): value is number => value !== undefined);
  if (present.length === 0) {
    return { desired: current, reason: "no_samples", value: null, recommendation: current };
  }
  const ready = input.samples.length;
  const rawRatio = mean(present) / spec.target;
  // Missing samples dampen the move they would have to support (HPA's replica calculator).
  const filled =
    present.length === ready
      ? present
      : [
          ...present,
          ...new Array<number>(ready - present.length).fill(rawRatio > 1 ? 0 : spec.target),
        ];
  const value = mean(filled);
  const ratio = value / spec.target;
  const movesBack = (rawRatio > 1 && ratio < 1) || (rawRatio < 1 && ratio > 1);
  if (Math.abs(ratio - 1) <= tolerance || movesBack) {
    return { desired: current, reason: "within_tolerance", value, recommendation: current };
  }
  const recommendation = clamp(Math.ceil(ready * ratio), minInstances, maxInstances);
  if (recommendation > current) {
    const step =
      "percent" in spec.scaleUpStep
        ? Math.ceil(current * (1 + spec.scaleUpStep.percent / 100))
        : current + spec.scaleUpStep.instances;
    const limit = Math.max(step, current + 1);
    if (recommendation > limit) {
      return { desired: limit, reason: "scale_up_step_limited", value, recommendation };
    }
    return { desired: recommendation, reason: "scale_up", value, recommendation };
  }
  if (recommendation < current) {
    const since = input.now - spec.scaleDownStabilizationMs;
    const stabilized = Math.max(
      recommendation,
      ...input.history.filter((entry) => entry.at >= since).map((entry) => entry.instances),
    );
    const desired = Math.min(stabilized, current);
    if (desired === current) {
      return { desired, reason: "scale_down_stabilized", value, recommendation };
    }
    return { desired, reason: "scale_down", value, recommendation };
  }
  return {
    desired: current,
    reason:
      current === maxInstances && ratio > 1
        ? "at_max"
        : current === minInstances && ratio < 1
          ? "at_min"
          : "within_tolerance",
    value,
    recommendation,
  };
}

/** History kept for the window only (the controller holds it in memory per image, as HPA does). */
export function pruneHistory(
  history: readonly Recommendation[],
  now: number,
  windowMs: number,
): Recommendation[] {
  return history.filter((entry) => entry.at >= now - windowMs);
}
