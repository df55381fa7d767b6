import { Hono } from "hono";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import type { Db } from "../store/database.ts";
import { findImage, listImages } from "../store/images-repository.ts";
import { listInstances } from "../store/instances-repository.ts";
import type { InstanceRecord } from "../store/records.ts";
import type { AppEnv } from "./env.ts";
import { presentInstance } from "./presenters.ts";
import { validationProblem } from "./problem.ts";
import { scopeOf } from "./tenant.ts";
import { idParam, parseWith, queryParams } from "./validation.ts";

export type ContainersRoutesOptions = {
  readonly db: Db;
  readonly images: ImageService;
  readonly advertiseHost: string;
  /** Extra routes under /api/containers (health, logs). */
  readonly extend?: (app: Hono<AppEnv>) => void;
};

const addSchema = z.strictObject({ count: z.number().int().min(1).max(10_000).default(1) });
const listQuery = z.strictObject({
  image_id: z
    .string()
    .regex(/^[1-9]\d*$/)
    .transform(Number)
    .optional(),
});

function instanceIdParam(raw: string | undefined): string {
  if (raw === undefined || !/^[0-9a-z]{1,64}$/.test(raw)) {
    throw validationProblem([{ path: "id", message: "must be a container (instance) id" }]);
  }
  return raw;
}

/** `/api/containers`: instances of images, and the desired state of each one. */
export function containersRoutes(options: ContainersRoutesOptions) {
  const app = new Hono<AppEnv>();

  const present = async (instance: InstanceRecord) => {
    const image = await findImage(options.db, instance.image_id);
    return presentInstance(instance, {
      host: options.advertiseHost,
      ...(image === undefined ? {} : { containerPort: image.container_port }),
    });
  };

  app.get("/", async (c) => {
    const query = queryParams(c, listQuery);
    const userId = scopeOf(c.get("principal")).userId;
    const [instances, images] = await Promise.all([
      listInstances(options.db, { userId, imageId: query.image_id }),
      listImages(options.db, userId),
    ]);
    const ports = new Map(images.map((image) => [image.id, image.container_port]));
    return c.json({
      items: instances.map((instance) =>
        presentInstance(instance, {
          host: options.advertiseHost,
          ...(ports.has(instance.image_id)
            ? { containerPort: ports.get(instance.image_id) as number }
            : {}),
        }),
      ),
    });
  });

  app.post("/:imageId", async (c) => {
    const raw = await c.req.text();
    let body: unknown = {};
    if (raw.trim().length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        throw validationProblem([{ path: "", message: 'body must be JSON like {"count": 2}' }]);
      }
    }
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
    const instance = await options.images.getInstance(
      scopeOf(c.get("principal")),
      instanceIdParam(c.req.param("id")),
    );
    return c.json(await present(instance));
  });

  for (const [action, state] of [
    ["start", "running"],
    ["stop", "stopped"],
  ] as const) {
    app.post(`/:id/${action}`, async (c) => {
      const instance = await options.images.setInstanceState(
        scopeOf(c.get("principal")),
        instanceIdParam(c.req.param("id")),
        state,
      );
      return c.json(await present(instance), 202);
    });
  }

  app.delete("/:id", async (c) => {
    const instance = await options.images.deleteInstance(
      scopeOf(c.get("principal")),
      instanceIdParam(c.req.param("id")),
    );
    return c.json(await present(instance), 202);
  });

  options.extend?.(app);
  return app;
}
