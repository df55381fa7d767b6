import { Hono } from "hono";
import { findVisibleImage, type Scope } from "../desired/image-writes.ts";
import type { ImagesRepository } from "../store/images-repository.ts";
import type { RevisionRecord, RevisionsRepository } from "../store/revisions-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { idParameter } from "./schemas/common-schemas.ts";
import { revisionListSchema } from "./schemas/revision-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { idParam } from "./validation.ts";

export type RevisionRoutesOptions = {
  readonly images: Pick<ImagesRepository, "find">;
  readonly revisions: Pick<RevisionsRepository, "list">;
};

export function presentRevision(row: RevisionRecord, newest: number) {
  return {
    image_id: row.image_id,
    revision: row.revision,
    spec: row.spec,
    source_digest: row.source_digest,
    docker_image_id: row.docker_image_id,
    generation: row.generation,
    actor: row.actor,
    cause: row.cause,
    created_at: row.created_at.toISOString(),
    current: row.revision === newest,
  };
}

/** The kept revisions of an image the caller may see, newest first. */
async function revisionsOf(options: RevisionRoutesOptions, scope: Scope, imageId: number) {
  const image = await findVisibleImage(options.images, scope, imageId);
  return options.revisions.list(image.id);
}

/** `GET /api/images/{id}/revisions`: the image's kept revisions (the last 10), newest first. */
export function revisionsRoutes(options: RevisionRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/:id/revisions",
    documented({
      summary: "An image's kept revisions (the last 10), newest first",
      tags: ["images"],
      params: { id: idParameter },
      responses: { 200: { description: "The revisions", body: revisionListSchema } },
    }),
    async (c) => {
      const rows = await revisionsOf(options, scopeOf(c.get("principal")), idParam(c, "id"));
      const newest = rows[0]?.revision ?? 0;
      return c.json({ items: rows.map((row) => presentRevision(row, newest)) });
    },
  );

  return app;
}
