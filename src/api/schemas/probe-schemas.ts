import { z } from "zod";

export const livenessSchema = z.strictObject({ status: z.literal("ok") });

/** Anyone learns ready or not; the operator also each check (`down` names the failing ones). */
export const readinessSchema = z.strictObject({
  status: z.enum(["ready", "not_ready"]),
  down: z.array(z.string()).optional(),
  checks: z
    .record(z.string(), z.looseObject({ ok: z.boolean(), error: z.string().optional() }))
    .optional(),
});

/** `GET /api/version`: the server's package, the HTTP contract's version and the runtime. */
export const versionSchema = z.strictObject({
  version: z.string(),
  api_version: z.string(),
  node: z.string(),
});
