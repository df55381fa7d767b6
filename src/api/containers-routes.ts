import { Hono } from "hono";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { presentInstance, presentInstanceOf } from "./presenters.ts";
import { idParameter, instanceIdParameter, listOf } from "./schemas/common-schemas.ts";
import { addedInstancesSchema, instanceSchema } from "./schemas/instance-schemas.ts";
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

  app.get(
    "/",
    documented({
      summary: "List your instances",
      tags: ["containers"],
      query: listQuery,
      responses: { 200: { description: "The instances", body: listOf(instanceSchema) } },
    }),
    async (c) => {
      const query = queryParams(c, listQuery);
      const listed = await options.images.listInstances(
        scopeOf(c.get("principal")),
        query.image_id,
      );
      return c.json({ items: listed.map((item) => presentInstanceOf(item, host)) });
    },
  );

  app.post(
    "/:id",
    documented({
      summary: "Add instances to an image (the id is the image's)",
      description:
        '`{"count": n}` (default 1); 409 `max_instances_exceeded` past max_instances. Answers the new instances (their ports are known once they run).',
      tags: ["containers"],
      params: { id: idParameter.describe("the image's id") },
      body: addSchema,
      responses: { 202: { description: "Instances added", body: addedInstancesSchema } },
    }),
    async (c) => {
      const raw = await c.req.text();
      const body: unknown = raw.trim().length > 0 ? parseJsonText(raw) : {};
      const { count } = parseWith(addSchema, body);
      const { image, added } = await options.images.addInstances(
        scopeOf(c.get("principal")),
        idParam(c, "id"),
        count,
      );
      c.get("log").info(
        { imageId: image.id, count, desired: image.desired_instances },
        "instances requested",
      );
      return c.json(
        {
          image_id: image.id,
          desired_instances: image.desired_instances,
          added: count,
          items: added.map((instance) =>
            presentInstance(instance, { host, containerPort: image.container_port }),
          ),
        },
        202,
      );
    },
  );

  app.get(
    "/:id",
    documented({
      summary: "An instance",
      tags: ["containers"],
      params: { id: instanceIdParameter },
      responses: { 200: { description: "The instance", body: instanceSchema } },
    }),
    async (c) => {
      const found = await options.images.getInstance(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
      );
      return c.json(presentInstanceOf(found, host));
    },
  );

  for (const [action, state] of [
    ["start", "running"],
    ["stop", "stopped"],
  ] as const) {
    app.post(
      `/:id/${action}`,
      documented({
        summary: `${action === "start" ? "Start" : "Stop"} an instance (its desired state)`,
        tags: ["containers"],
        params: { id: instanceIdParameter },
        responses: { 202: { description: "Desired state recorded", body: instanceSchema } },
      }),
      async (c) => {
        const changed = await options.images.setInstanceState(
          scopeOf(c.get("principal")),
          instanceIdParam(c, "id"),
          state,
        );
        return c.json(presentInstanceOf(changed, host), 202);
      },
    );
  }

  app.post(
    "/:id/restart",
    documented({
      summary: "Restart an instance's container once",
      tags: ["containers"],
      params: { id: instanceIdParameter },
      responses: { 202: { description: "Restart requested", body: instanceSchema } },
    }),
    async (c) => {
      const restarted = await options.images.restartInstance(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
      );
      return c.json(presentInstanceOf(restarted, host), 202);
    },
  );

  app.delete(
    "/:id",
    documented({
      summary: "Remove an instance",
      tags: ["containers"],
      params: { id: instanceIdParameter },
      responses: { 202: { description: "Marked for removal", body: instanceSchema } },
    }),
    async (c) => {
      const removed = await options.images.deleteInstance(
        scopeOf(c.get("principal")),
        instanceIdParam(c, "id"),
      );
      return c.json(presentInstanceOf(removed, host), 202);
    },
  );

  return app;
}
