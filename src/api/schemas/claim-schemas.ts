import { z } from "zod";
import { nullableTimestamp, userId } from "./common-schemas.ts";

/** A claim of a pooled instance: where it answers, and until when it is the key's. */
export const claimSchema = z.strictObject({
  claim_id: z.string().nullable(),
  key: z.string().nullable(),
  image_id: z.number().int(),
  user_id: userId,
  instance_id: z.string(),
  container_id: z.string().nullable(),
  host: z.string(),
  port: z.number().int().nullable(),
  url: z.string().nullable(),
  claimed_at: nullableTimestamp,
  expires_at: nullableTimestamp,
});

export type Claim = z.output<typeof claimSchema>;

/** A released claim: the claim as it was, and `released: true`. */
export const releasedClaimSchema = claimSchema.extend({ released: z.literal(true) });
