import { Hono } from "hono";
import type { RollbackService } from "../desired/rollback.ts";
import type { ImageRecord } from "../store/records.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { presentRevision } from "./revisions-routes.ts";
import { idParameter } from "./schemas/common-schemas.ts";
import { revisionSchema } from "./schemas/revision-schemas.ts";
import { rollbackSchema, rolloutSwitchSchema } from "./schemas/rollout-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { idParam, parseJsonText, parseWith } from "./validation.ts";

export type RolloutRoutesOptions = { readonly rollouts: RollbackService };

const presentSwitch = (image: ImageRecord) => ({
  image_id: image.id,
  rollout_paused: image.rollout_paused,
  resource_version: image.resource_version,
});

/**
 * `POST /api/images/{id}/rollback` (to a kept revision, as a new revision) and
 * `POST /api/images/{id}/rollout/pause|resume`. Another tenant's image is a 404.
 */
export function rolloutRoutes(options: RolloutRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.post(
    "/:id/rollback",
    documented({
      summary: "Roll an image back to a kept revision (the previous one by default)",
      description:
        '`{"revision": n}`, or no body for the revision before the current one. Writes that revision\'s spec (what its containers ran; the instance counts stay) as a new revision, "rollback to revision n"; an uploaded image runs the revision\'s built image again, never a new build. 404 `revision_not_found` for a revision not kept; 409 `revision_image_gone` when its image is gone from the engine, `conflict` for the current revision, while a build runs or while the image is being deleted.',
      tags: ["images", "rollouts"],
      params: { id: idParameter },
      body: rollbackSchema,
      responses: { 202: { description: "The new revision", body: revisionSchema } },
    }),
    async (c) => {
      const raw = await c.req.text();
      const { revision: wanted } = parseWith(
        rollbackSchema,
        raw.trim().length > 0 ? parseJsonText(raw) : {},
      );
      const { image, revision } = await options.rollouts.rollback(
        scopeOf(c.get("principal")),
        idParam(c, "id"),
        wanted,
      );
      c.get("log").info({ imageId: image.id, revision: revision.revision }, "rollback requested");
      return c.json(presentRevision(revision, revision.revision), 202);
    },
  );

  for (const [verb, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    app.post(
      `/:id/rollout/${verb}`,
      documented({
        summary: paused
          ? "Hold the image's rollout where it is (idempotent)"
          : "Let a held rollout go on (idempotent)",
        tags: ["images", "rollouts"],
        params: { id: idParameter },
        responses: { 200: { description: "Where the rollout stands", body: rolloutSwitchSchema } },
      }),
      async (c) => {
        const image = await options.rollouts.setPaused(
          scopeOf(c.get("principal")),
          idParam(c, "id"),
          paused,
        );
        return c.json(presentSwitch(image));
      },
    );
  }

  return app;
}
