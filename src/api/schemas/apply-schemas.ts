import { z } from "zod";

export const planItemSchema = z.strictObject({
  name: z.string(),
  action: z.enum(["create", "update", "replace", "delete", "unchanged"]),
  changes: z.array(z.strictObject({ field: z.string(), from: z.unknown(), to: z.unknown() })),
  reason: z.string().optional(),
  image_id: z.number().int().nullable(),
  /** The server has no source with this digest: upload it (`PUT /api/images/{id}/source`). */
  needs_upload: z.boolean(),
});

/** What an apply did (or, with `?dry_run=1`, would do). */
export const applyResultSchema = z.strictObject({
  set: z.string(),
  dry_run: z.boolean(),
  items: z.array(planItemSchema),
  summary: z.strictObject({
    create: z.number().int(),
    change: z.number().int(),
    delete: z.number().int(),
    unchanged: z.number().int(),
  }),
});
