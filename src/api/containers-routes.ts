import { Hono } from "hono";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import type { AppEnv } from "./app-env.ts";
import { presentInstanceOf } from "./presenters.ts";
import { scopeOf } from "./tenant.ts";
import { idParam, instanceIdParam, parseJsonText, parseWith, queryParams } from "./validation.ts";

export type ContainersRoutesOptions = {
  readonly images: ImageService;
  readonly advertiseHost: string;
};

const addSchema = z.strictObject({ count: z.number().int().min(1).max(10_000).default(1) });
const listQuery = z.strictObject({
  image_id: z
    .string()
    .regex(/^[1-9]\d*$/)
    .transform(Number)
    .optional(),
});

/** `/api/containers`: instances of images, and the desired state of each one. */
export function containersRoutes(options: ContainersRoutesOptions) {
  const app = new Hono<AppEnv>();
  const host = options.advertiseHost;

  app.get("/", async (c) => {
    const query = queryParams(c, listQuery);
    const listed = await options.images.listInstances(scopeOf(c.get("principal")), query.image_id);
    return c.json({ items: listed.map((item) => presentInstanceOf(item, host)) });
  });

  app.post("/:imageId", async (c) => {
    const raw = await c.req.text();
    const body: unknown = raw.trim().length > 0 ? parseJsonText(raw) : {};
    const { count } = parseWith(addSchema, body);
    const image = await options.images.addInstances(
      scopeOf(c.get("principal")),
      idParam(c, "imageId"),
      count,
    );
    c.get("log").info(
      { imageId: image.id, count, desired: image.desired_instances },
      "instances requested",
    );
    return c.json(
      { image_id: image.id, desired_instances: image.desired_instances, added: count },
      202,
    );
  });

  app.get("/:id", async (c) => {
    const found = await options.images.getInstance(
      scopeOf(c.get("principal")),
      instanceIdParam(c, "id"),
    );
    return c.json(presentInstanceOf(found, host));
  });

  for (const [action, state] of [
    ["start", "running"],
    ["stop", "stopped"],
  ] as const) {
    app.post(`/:id/${action}`, async (c) => {
      const changed = await options.images.setInstanceState(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
        state,
      );
      return c.json(presentInstanceOf(changed, host), 202);
    });
  }

  app.post("/:id/restart", async (c) => {
    const restarted = await options.images.restartInstance(
      scopeOf(c.get("principal")),
      instanceIdParam(c, "id"),
    );
    return c.json(presentInstanceOf(restarted, host), 202);
  });

  app.delete("/:id", async (c) => {
    const removed = await options.images.deleteInstance(
      scopeOf(c.get("principal")),
      instanceIdParam(c, "id"),
    );
    return c.json(presentInstanceOf(removed, host), 202);
  });

  return app;
}
