import { z } from "zod";
import { containerOptionFields } from "../../domain/container-options.ts";
import { timestamp } from "./common-schemas.ts";

/** One decision of the autoscaler that moved the count (an `image.scaled` event). */
export const autoscaleDecisionSchema = z.strictObject({
  time: timestamp,
  metric: z.string(),
  /** The mean per running instance the decision used, or null (bounds moved, no samples). */
  value: z.number().nullable(),
  target: z.number(),
  from: z.number().int(),
  to: z.number().int(),
  reason: z.string(),
  /** The event's id, to find it in the event log. */
  event_id: z.string(),
});

/** `GET /api/images/{id}/autoscale`: the spec, where the metric stands, the last decisions. */
export const autoscaleViewSchema = z.strictObject({
  image_id: z.number().int(),
  /** The image's `autoscale`, or null when it is off. */
  autoscale: containerOptionFields.autoscale,
  min_instances: z.number().int(),
  max_instances: z.number().int(),
  desired_instances: z.number().int(),
  /** The autoscaler's latest evaluation, or null before its first. */
  current: z
    .strictObject({
      evaluated_at: timestamp,
      metric: z.string(),
      value: z.number().nullable(),
      target: z.number(),
      /** What the samples alone ask for, before the step limit and the stabilization window. */
      recommendation: z.number().int(),
      desired_instances: z.number().int(),
      reason: z.string(),
      /** Running instances counted, and how many had no recent sample. */
      instances: z.number().int(),
      missing: z.number().int(),
    })
    .nullable(),
  /** Newest first: the last 20 decisions that moved desired_instances. */
  decisions: z.array(autoscaleDecisionSchema),
});

export type AutoscaleView = z.output<typeof autoscaleViewSchema>;

/** `POST /api/images/{id}/wake`. */
export const wakeResultSchema = z.strictObject({
  image_id: z.number().int(),
  desired_instances: z.number().int(),
  woken: z.boolean(),
});
