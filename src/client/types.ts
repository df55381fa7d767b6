/**
 * The API's bodies as TypeScript types, derived from the zod schemas that validate and document
 * each route (no hand-copied types): what the OpenAPI document says is what these say.
 */
import type { z } from "zod";
import type {
  auditPageSchema,
  createdTokenSchema,
  quotaSchema,
  registrySchema,
  secretSchema,
  tokenSchema,
  userSchema,
  volumeSchema,
  whoamiSchema,
} from "../api/schemas/account-schemas.ts";
import type { applyResultSchema } from "../api/schemas/apply-schemas.ts";
import type { autoscaleViewSchema, wakeResultSchema } from "../api/schemas/autoscale-schemas.ts";
import type { claimSchema, releasedClaimSchema } from "../api/schemas/claim-schemas.ts";
import type {
  eventPageSchema,
  eventSchema,
  metricsSampleSchema,
} from "../api/schemas/event-schemas.ts";
import type {
  buildLogsSchema,
  imageSchema,
  imageWithContainersSchema,
} from "../api/schemas/image-schemas.ts";
import type {
  addedInstancesSchema,
  healthHistorySchema,
  instanceHealthSchema,
  instanceSchema,
} from "../api/schemas/instance-schemas.ts";
import type { versionSchema } from "../api/schemas/probe-schemas.ts";
import type { revisionSchema } from "../api/schemas/revision-schemas.ts";
import type { rolloutSwitchSchema } from "../api/schemas/rollout-schemas.ts";
import type { imagePatchSchema, newImageSchema } from "../domain/image-spec.ts";

export type { Problem } from "../api/schemas/problem-schemas.ts";

export type Image = z.output<typeof imageSchema>;
export type ImageWithContainers = z.output<typeof imageWithContainersSchema>;
export type BuildLogs = z.output<typeof buildLogsSchema>;
/** One kept revision of an image (`GET /api/images/{id}/revisions`), newest first. */
export type Revision = z.output<typeof revisionSchema>;
/** Where an image's rollout stands (`POST /api/images/{id}/rollout/pause|resume`). */
export type RolloutSwitch = z.output<typeof rolloutSwitchSchema>;
/** An image's autoscaler (`GET /api/images/{id}/autoscale`): spec, metric now, last decisions. */
export type AutoscaleView = z.output<typeof autoscaleViewSchema>;
/** `POST /api/images/{id}/wake`: the image's count after the call, and whether it moved. */
export type WakeResult = z.output<typeof wakeResultSchema>;
export type Instance = z.output<typeof instanceSchema>;
export type AddedInstances = z.output<typeof addedInstancesSchema>;
export type InstanceHealth = z.output<typeof instanceHealthSchema>;
export type HealthHistory = z.output<typeof healthHistorySchema>;
/** A claim of a pooled instance (`POST /api/images/{id}/claims`). */
export type Claim = z.output<typeof claimSchema>;
export type ReleasedClaim = z.output<typeof releasedClaimSchema>;
export type OrchestratorEvent = z.output<typeof eventSchema>;
export type EventPage = z.output<typeof eventPageSchema>;
/** A resource sample on the stream (`events({ metrics: true })`, `on("metrics")`). */
export type MetricsSample = z.output<typeof metricsSampleSchema>;
export type ApplyResult = z.output<typeof applyResultSchema>;
export type User = z.output<typeof userSchema>;
export type Token = z.output<typeof tokenSchema>;
export type CreatedToken = z.output<typeof createdTokenSchema>;
export type Quota = z.output<typeof quotaSchema>;
export type AuditPage = z.output<typeof auditPageSchema>;
export type Whoami = z.output<typeof whoamiSchema>;
export type ServerVersion = z.output<typeof versionSchema>;
export type Secret = z.output<typeof secretSchema>;
export type Registry = z.output<typeof registrySchema>;
export type Volume = z.output<typeof volumeSchema>;

/** A new image as sent (`POST /api/images` JSON, a document of `POST /api/apply`). */
export type NewImageInput = z.input<ReturnType<typeof newImageSchema>>;
/** A change of an image (`PATCH /api/images/{id}`). */
export type ImagePatchInput = z.input<typeof imagePatchSchema>;

export type EventType = OrchestratorEvent["type"];

export type Items<Item> = { readonly items: Item[] };
