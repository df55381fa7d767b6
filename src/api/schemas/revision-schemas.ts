import { z } from "zod";
import { listOf, timestamp } from "./common-schemas.ts";

/** One revision of an image: what a change asked its containers to run. */
export const revisionSchema = z.strictObject({
  image_id: z.number().int(),
  revision: z.number().int(),
  /** The spec as written in desired-state files, when the revision was made. */
  spec: z.record(z.string(), z.unknown()),
  source_digest: z.string().nullable(),
  /** The Docker image the revision runs; null until a build made it or the controller resolved it. */
  docker_image_id: z.string().nullable(),
  generation: z.number().int(),
  actor: z.string(),
  cause: z.string(),
  created_at: timestamp,
  /** The newest revision: what the image runs, or is rolling out. */
  current: z.boolean(),
});

export const revisionListSchema = listOf(revisionSchema);
