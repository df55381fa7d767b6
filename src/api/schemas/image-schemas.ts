import { z } from "zod";
import { specFields } from "../../domain/image-spec.ts";
import { nullableTimestamp, timestamp, userId } from "./common-schemas.ts";

export const imageStatuses = [
  "pending",
  "building",
  "ready",
  "build_failed",
  "registered",
  "deleting",
] as const;

export const conditionSchema = z.strictObject({
  type: z.enum(["Ready", "Progressing", "Degraded"]),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  last_transition_time: z.string(),
});

const { image: _reference, ...specWithoutReference } = specFields;

/** An image as the API shows it: who and what, its whole spec, and the controller's status. */
export const imageSchema = z.strictObject({
  id: z.number().int(),
  user_id: userId,
  name: z.string(),
  source_type: z.enum(["reference", "upload"]),
  /** The reference it runs (`nginx:1.27`), or null for an upload. */
  image: z.string().nullable(),
  status: z.enum(imageStatuses),
  ...specWithoutReference,
  generation: z.number().int(),
  observed_generation: z.number().int(),
  resource_version: z.number().int(),
  conditions: z.array(conditionSchema),
  docker_image_id: z.string().nullable(),
  /** Where the build was pushed (`repository:tag@digest`) under REGISTRY_URL, or null. */
  registry_reference: z.string().nullable(),
  source_path: z.string().nullable(),
  source_digest: z.string().nullable(),
  /** The rollout is held (`POST …/rollout/pause`) until resumed. */
  rollout_paused: z.boolean(),
  /** The build log's head and tail (detail only; the whole log: `GET …/build-logs`). */
  build_logs: z.string().nullable().optional(),
  apply_set: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});

export type Image = z.output<typeof imageSchema>;

export const imageWithContainersSchema = imageSchema.extend({
  containers: z.strictObject({
    total: z.number().int(),
    running: z.number().int(),
    stopped: z.number().int(),
    failing: z.number().int(),
    /** Instances held by a claim (pooled images). */
    claimed: z.number().int(),
  }),
});

export const buildLogsSchema = z.strictObject({
  image_id: z.number().int(),
  status: z.enum(imageStatuses),
  build_generation: z.number().int(),
  trigger: z.string().nullable(),
  failure_reason: z.string().nullable(),
  error: z.string().nullable(),
  started_at: nullableTimestamp,
  finished_at: nullableTimestamp,
  /** The documented name of the log's text. */
  build_logs: z.string(),
  /** The same text under its earlier name. */
  logs: z.string(),
  truncated: z.boolean(),
});
