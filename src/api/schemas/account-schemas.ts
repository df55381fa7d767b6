import { z } from "zod";
import { tokenScopes } from "../../domain/token-scope.ts";
import { nullableTimestamp, timestamp, userId } from "./common-schemas.ts";

export const userSchema = z.strictObject({ id: userId, name: z.string(), created_at: timestamp });

export const tokenSchema = z.strictObject({
  id: z.number().int(),
  name: z.string(),
  user: z.string(),
  user_id: userId,
  scope: z.enum(tokenScopes),
  expires_at: nullableTimestamp,
  created_at: timestamp,
  last_used_at: nullableTimestamp,
});

/** A new token: its secret is in this answer and nowhere else, ever. */
export const createdTokenSchema = tokenSchema.extend({ token: z.string(), note: z.string() });

const quotaValues = z.strictObject({
  images: z.number().nullable(),
  instances: z.number().nullable(),
  cpu: z.string().nullable(),
  memory: z.string().nullable(),
  concurrent_builds: z.number().nullable(),
});

export const quotaSchema = z.strictObject({
  user: z.string(),
  user_id: userId,
  limits: quotaValues,
  usage: quotaValues,
  overrides: quotaValues,
});

export const auditEntrySchema = z.strictObject({
  id: z.number().int(),
  time: timestamp,
  actor: z.string(),
  actor_user_id: userId.nullable(),
  token_id: z.number().int().nullable(),
  token_name: z.string().nullable(),
  request_id: z.string().nullable(),
  action: z.string(),
  user_id: userId.nullable(),
  image_id: z.number().int().nullable(),
  target: z.string(),
  old: z.record(z.string(), z.unknown()).nullable(),
  new: z.record(z.string(), z.unknown()).nullable(),
});

export const auditPageSchema = z.strictObject({
  items: z.array(auditEntrySchema),
  next_after: z.number().int().nullable(),
});

export const whoamiSchema = z.strictObject({
  user: z.string(),
  user_id: userId,
  admin: z.boolean(),
  scope: z.enum(tokenScopes),
  token_id: z.number().int().nullable(),
});

export const secretSchema = z.strictObject({
  name: z.string(),
  version: z.number().int(),
  created_at: timestamp,
  updated_at: timestamp,
});

export const registrySchema = z.strictObject({
  server: z.string(),
  username: z.string(),
  created_at: timestamp,
  updated_at: timestamp,
});

export const volumeSchema = z.strictObject({
  name: z.string(),
  user_id: userId,
  docker_name: z.string(),
  size_bytes: z.number().nullable(),
  created_at: nullableTimestamp,
  used_by: z.array(z.string()),
});
