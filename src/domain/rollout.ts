import { z } from "zod";
import { parseDuration } from "./duration.ts";
import { durationSchema } from "./duration-schema.ts";

/**
 * How a spec change rolls out (Kubernetes' RollingUpdate, Swarm's update_config):
 * `max_surge` instances may run above the desired count, at most `max_unavailable` of the
 * desired count may be out of service, a new instance counts once it has been ready for
 * `min_ready`, and a rollout without progress for `progress_deadline` fails (and rolls back).
 * Counts or percentages of the desired count ("25%"); percentages round up.
 */

const boundRule = { message: 'must be a whole number (0 to 10000) or a percentage like "25%"' };

/** `2`, `"2"` or `"25%"`: canonical as a number, or as "N%". */
const countOrPercent = z
  .union([z.number(), z.string()], { error: boundRule.message })
  .transform((value, context): number | string => {
    const text = String(value).trim();
    const percent = /^(\d{1,3})%$/.exec(text);
    if (percent !== null && Number(percent[1]) <= 100) return `${Number(percent[1])}%`;
    if (/^\d{1,5}$/.test(text) && Number(text) <= 10_000) return Number(text);
    context.addIssue({ code: "custom", message: boundRule.message });
    return z.NEVER;
  });

const durationBetween = (minMs: number, maxMs: number) => durationSchema({ minMs, maxMs });

const minReadyBounds = { minMs: 0, maxMs: 3_600_000 };
const progressDeadlineBounds = { minMs: 1_000, maxMs: 24 * 3_600_000 };

/** Kubernetes' defaults (maxSurge 25%, maxUnavailable 25%, progressDeadlineSeconds 600). */
export const rolloutDefaults = {
  max_surge: "25%",
  max_unavailable: "25%",
  /** The readiness gate the controller always used: a crash at start is not "ready". */
  min_ready: "3s",
  progress_deadline: "10m",
} as const;

const isZero = (bound: number | string) => bound === 0 || bound === "0%";

export const rolloutSchema = z
  .strictObject(
    {
      max_surge: countOrPercent.default(rolloutDefaults.max_surge),
      max_unavailable: countOrPercent.default(rolloutDefaults.max_unavailable),
      min_ready: durationBetween(minReadyBounds.minMs, minReadyBounds.maxMs).default(
        rolloutDefaults.min_ready,
      ),
      progress_deadline: durationBetween(
        progressDeadlineBounds.minMs,
        progressDeadlineBounds.maxMs,
      ).default(rolloutDefaults.progress_deadline),
    },
    { error: "must be {max_surge, max_unavailable, min_ready, progress_deadline}" },
  )
  .refine((rollout) => !(isZero(rollout.max_surge) && isZero(rollout.max_unavailable)), {
    message: "max_surge and max_unavailable cannot both be 0: the rollout could never move",
    path: ["max_unavailable"],
  });

export type Rollout = z.output<typeof rolloutSchema>;

export const defaultRollout: Rollout = { ...rolloutDefaults };

/**
 * The bounds of one rollout step, resolved against the desired count. `startFirst`: new
 * instances start above the desired count (max_unavailable 0); otherwise instances are replaced
 * in place (same instance, new container), `maxUnavailable` at a time.
 */
export type RolloutBounds = {
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  readonly startFirst: boolean;
  readonly minReadyMs: number;
  readonly progressDeadlineMs: number;
};

function resolveBound(bound: number | string, desired: number): number {
  if (typeof bound === "number") return bound;
  return Math.ceil((desired * Number.parseInt(bound, 10)) / 100);
}

function durationMs(text: string, bounds: { minMs: number; maxMs: number }, fallback: string) {
  const parsed = parseDuration(text, bounds);
  if (parsed.ok) return parsed.value;
  const again = parseDuration(fallback, bounds);
  return again.ok ? again.value : 0;
}

/**
 * The bounds for `desired` instances under a cap of `maxInstances`. Surge never takes the count
 * past max_instances; when that leaves neither surge nor unavailability, one instance at a time
 * is replaced in place (the rollout never gets stuck, as Kubernetes' fencepost rule).
 */
export function resolveRollout(
  rollout: Rollout | null | undefined,
  desired: number,
  maxInstances: number,
): RolloutBounds {
  const spec = { ...defaultRollout, ...(rollout ?? {}) };
  const maxSurge = Math.max(
    0,
    Math.min(resolveBound(spec.max_surge, desired), maxInstances - desired),
  );
  let maxUnavailable = Math.min(resolveBound(spec.max_unavailable, desired), desired);
  if (maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return {
    maxSurge,
    maxUnavailable,
    startFirst: maxUnavailable === 0,
    minReadyMs: durationMs(spec.min_ready, minReadyBounds, rolloutDefaults.min_ready),
    progressDeadlineMs: durationMs(
      spec.progress_deadline,
      progressDeadlineBounds,
      rolloutDefaults.progress_deadline,
    ),
  };
}

/** How long an instance must have been ready to count (the image's min_ready). */
export function minReadyMsOf(rollout: Rollout | null | undefined): number {
  return durationMs(
    rollout?.min_ready ?? rolloutDefaults.min_ready,
    minReadyBounds,
    rolloutDefaults.min_ready,
  );
}
