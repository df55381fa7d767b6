import { z } from "zod";

/** `POST /api/images/{id}/rollback`: the kept revision to return to; the previous one when left out. */
export const rollbackSchema = z.strictObject({
  revision: z.number().int().positive().max(2_147_483_647).optional(),
});

/** `POST /api/images/{id}/rollout/pause|resume`: where the image's rollout stands. */
export const rolloutSwitchSchema = z.strictObject({
  image_id: z.number().int(),
  rollout_paused: z.boolean(),
  resource_version: z.number().int(),
});
