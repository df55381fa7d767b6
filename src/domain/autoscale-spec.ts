import { z } from "zod";
import type { AutoscaleSpec } from "./autoscale.ts";
import { autoscaleMetrics } from "./autoscale.ts";
import { parseDuration } from "./duration.ts";
import { durationSchema } from "./duration-schema.ts";

/**
 * `autoscale` as users write it: the controller moves `desired_instances` between
 * `min_instances` and `max_instances` to keep `metric` per instance near `target`
 * (domain/autoscale.ts decides). Canonical output, so equal specs compare equal:
 * `scale_up_step` is "N%" or a count, `scale_down_stabilization` the shortest duration.
 */

const stabilizationBounds = { minMs: 0, maxMs: 3_600_000 };
const scaleToZeroBounds = { minMs: 1_000, maxMs: 7 * 24 * 3_600_000 };

const targetRule = { message: "must be a number greater than 0 (at most 1000000)" };

const stepRule =
  'must be a percentage like "100%" (1% to 1000%) or a count of instances (1 to 10000)';

const scaleUpStep = z.union([z.string(), z.number()]).transform((value, context) => {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 1 && value <= 10_000) return value;
    context.addIssue({ code: "custom", message: stepRule });
    return z.NEVER;
  }
  const percent = /^(\d{1,4})%$/.exec(value.trim());
  const amount = percent === null ? Number.NaN : Number(percent[1]);
  if (amount >= 1 && amount <= 1_000) return `${amount}%`;
  if (/^\d{1,5}$/.test(value.trim()) && Number(value) >= 1 && Number(value) <= 10_000) {
    return Number(value);
  }
  context.addIssue({ code: "custom", message: stepRule });
  return z.NEVER;
});

export const autoscaleSchema = z.strictObject(
  {
    metric: z.enum(autoscaleMetrics, {
      message: 'must be "cpu", "memory" or "requests_per_second"',
    }),
    /** Per instance: percent of the limit (cpu, memory), or requests per second. */
    target: z
      .number(targetRule)
      .gt(0, targetRule)
      .max(1_000_000, targetRule)
      .refine(Number.isFinite, targetRule),
    scale_up_step: scaleUpStep.default("100%"),
    scale_down_stabilization: durationSchema(stabilizationBounds).default("5m"),
    /**
     * With `min_instances: 0` and metric `requests_per_second`: no request through the router
     * for this long moves the image to 0; the router wakes it (POST /api/images/{id}/wake).
     */
    scale_to_zero_after: durationSchema(scaleToZeroBounds).optional(),
  },
  {
    error: "must be {metric, target, scale_up_step, scale_down_stabilization, scale_to_zero_after}",
  },
);

export type Autoscale = z.output<typeof autoscaleSchema>;

/** The stored (canonical) form as the decision takes it. */
export function autoscaleSpecOf(autoscale: Autoscale): AutoscaleSpec {
  const step = autoscale.scale_up_step;
  const stabilization = parseDuration(autoscale.scale_down_stabilization, stabilizationBounds);
  return {
    metric: autoscale.metric,
    target: autoscale.target,
    scaleUpStep:
      typeof step === "number" ? { instances: step } : { percent: Number.parseInt(step, 10) },
    scaleDownStabilizationMs: stabilization.ok ? stabilization.value : 300_000,
  };
}

/** `scale_to_zero_after` in milliseconds, or undefined when the image never goes to zero. */
export function scaleToZeroAfterMs(autoscale: Autoscale): number | undefined {
  if (autoscale.scale_to_zero_after === undefined) return undefined;
  const parsed = parseDuration(autoscale.scale_to_zero_after, scaleToZeroBounds);
  return parsed.ok ? parsed.value : undefined;
}
