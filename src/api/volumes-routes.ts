import { Hono } from "hono";
import { z } from "zod";
import type { VolumeService, VolumeView } from "../desired/volume-service.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { volumeSchema } from "./schemas/account-schemas.ts";
import { listOf } from "./schemas/common-schemas.ts";
import { actingUserOf, listedOwnerOf, type UserLookup, userQuery } from "./tenant.ts";

export type VolumesRoutesOptions = {
  readonly volumes: VolumeService;
  readonly users: UserLookup;
};

/** A volume as the API shows it: the tenant's name, its size and the images that mount it. */
function presentVolume(volume: VolumeView) {
  return {
    name: volume.name,
    user_id: String(volume.userId),
    docker_name: volume.dockerName,
    size_bytes: volume.sizeBytes,
    created_at: iso(volume.createdAt),
    used_by: volume.usedBy,
  };
}

/**
 * `/api/volumes`: a tenant's named volumes (the admin sees everyone's, or one user's with
 * `?user=NAME`), and their removal when nothing uses them. Created by the controller when an
 * image mounts them; never removed otherwise except by `DELETE /api/images/{id}?volumes=true`.
 */
export function volumesRoutes(options: VolumesRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/",
    documented({
      summary: "Your named volumes",
      tags: ["volumes"],
      query: userQuery,
      responses: { 200: { description: "The volumes", body: listOf(volumeSchema) } },
    }),
    async (c) => {
      const volumes = await options.volumes.list(await listedOwnerOf(c, options.users));
      return c.json({ items: volumes.map(presentVolume) });
    },
  );

  app.delete(
    "/:name",
    documented({
      summary: "Remove a named volume (409 while mounted)",
      tags: ["volumes"],
      params: { name: z.string() },
      query: userQuery,
      responses: { 204: { description: "Removed" } },
    }),
    async (c) => {
      const userId = await actingUserOf(c, options.users);
      const name = c.req.param("name");
      await options.volumes.delete(userId, name, c.get("principal").actor);
      c.get("log").info({ userId, volume: name }, "volume removed");
      return c.body(null, 204);
    },
  );

  return app;
}
