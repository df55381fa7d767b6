import { type Context, Hono } from "hono";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import { imagePatchSchema, newImageSchema } from "../domain/image-spec.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { presentImage, presentInstance } from "./presenters.ts";
import { ProblemError } from "./problem.ts";
import { registerReference } from "./register-reference.ts";
import { idParameter, listOf } from "./schemas/common-schemas.ts";
import { imageSchema, imageWithContainersSchema } from "./schemas/image-schemas.ts";
import { instanceSchema } from "./schemas/instance-schemas.ts";
import { actingUserOf, listedOwnerOf, scopeOf, type UserLookup, userQuery } from "./tenant.ts";
import { idParam, jsonBody, parseWith, queryParams } from "./validation.ts";

export type ImagesRoutesOptions = {
  readonly images: ImageService;
  readonly users: UserLookup;
  readonly maxInstancesCap: number;
  readonly advertiseHost: string;
};

/**
 * `/api/images`: desired state in (JSON), status out. Every write only touches Postgres.
 * Multipart uploads to `POST /api/images` are served by image-upload-routes.ts, mounted first.
 */
export function imagesRoutes(options: ImagesRoutesOptions) {
  const app = new Hono<AppEnv>();
  const createSchema = newImageSchema(options.maxInstancesCap);

  app.post(
    "/",
    documented({
      summary: "Register an image that runs an existing reference (JSON)",
      description:
        "Multipart/form-data with `file` uploads source to build instead (see the multipart body).",
      tags: ["images"],
      body: createSchema,
      responses: { 201: { description: "Registered", body: imageSchema } },
    }),
    async (c) => {
      const body = await jsonBody(c, z.unknown());
      const input = parseWith(createSchema, body);
      if (input.image === undefined) {
        throw new ProblemError(
          "validation_failed",
          "send `image` (an existing image reference) as JSON, or upload `file` as multipart/form-data",
          {
            errors: [
              { path: "image", message: "required (or upload a file as multipart/form-data)" },
            ],
          },
        );
      }
      return registerReference(c, options.images, await actingUserOf(c, options.users), input);
    },
  );

  /** The admin sees everyone's images, or one user's with `?user=NAME`; a user only their own. */
  const listedOwner = (c: Context<AppEnv>) => listedOwnerOf(c, options.users);

  app.get(
    "/",
    documented({
      summary: "List images",
      description: "The admin sees everyone's, or one user's with `?user=NAME`.",
      tags: ["images"],
      query: userQuery,
      responses: { 200: { description: "The images", body: listOf(imageSchema) } },
    }),
    async (c) => {
      const images = await options.images.list(await listedOwner(c));
      return c.json({ items: images.map((image) => presentImage(image)) });
    },
  );

  app.get(
    "/with-containers",
    documented({
      summary: "List images with their instance counts",
      tags: ["images"],
      query: userQuery,
      responses: { 200: { description: "The images", body: listOf(imageWithContainersSchema) } },
    }),
    async (c) => {
      const listed = await options.images.listWithInstances(await listedOwner(c));
      return c.json({
        items: listed.map(({ image, instances }) => ({
          ...presentImage(image),
          containers: {
            total: instances.length,
            running: instances.filter((instance) => instance.observed_state === "running").length,
            stopped: instances.filter((instance) => instance.observed_state === "stopped").length,
            claimed: instances.filter((instance) => instance.claim_key !== null).length,
            failing: instances.filter(
              (instance) =>
                instance.observed_state === "crash_loop" || instance.observed_state === "exited",
            ).length,
          },
        })),
      });
    },
  );

  app.get(
    "/:id",
    documented({
      summary: "An image, with its build log's head and tail",
      tags: ["images"],
      params: { id: idParameter },
      responses: { 200: { description: "The image", body: imageSchema } },
    }),
    async (c) => {
      const image = await options.images.get(scopeOf(c.get("principal")), idParam(c, "id"));
      return c.json(presentImage(image, { withBuildLogs: true }));
    },
  );

  app.patch(
    "/:id",
    documented({
      summary: "Change an image's desired state",
      description:
        "Any subset of the spec; `resource_version` makes it conditional (409 when stale).",
      tags: ["images"],
      params: { id: idParameter },
      body: imagePatchSchema,
      responses: { 200: { description: "The changed image", body: imageSchema } },
    }),
    async (c) => {
      const patch = await jsonBody(c, imagePatchSchema);
      const { image, changes } = await options.images.patch(
        scopeOf(c.get("principal")),
        idParam(c, "id"),
        patch,
      );
      if (changes.length > 0)
        c.get("log").info(
          { imageId: image.id, fields: changes.map((change) => change.field) },
          "image changed",
        );
      return c.json(presentImage(image));
    },
  );

  /** `?volumes=true`: the image's named volumes go too (those no other image names). */
  const deleteQuery = z.strictObject({
    volumes: z
      .enum(["true", "false", "1", "0"], { message: "must be true or false" })
      .transform((value) => value === "true" || value === "1")
      .optional(),
  });

  app.delete(
    "/:id",
    documented({
      summary: "Delete an image (its containers go first)",
      tags: ["images"],
      params: { id: idParameter },
      query: deleteQuery,
      responses: { 202: { description: "Marked for deletion", body: imageSchema } },
    }),
    async (c) => {
      const query = queryParams(c, deleteQuery);
      const image = await options.images.delete(scopeOf(c.get("principal")), idParam(c, "id"), {
        volumes: query.volumes === true,
      });
      c.get("log").info(
        { imageId: image.id, volumes: query.volumes === true },
        "image deletion requested",
      );
      return c.json(presentImage(image), 202);
    },
  );

  app.get(
    "/:id/containers",
    documented({
      summary: "An image's instances",
      tags: ["images", "containers"],
      params: { id: idParameter },
      responses: { 200: { description: "Its instances", body: listOf(instanceSchema) } },
    }),
    async (c) => {
      const { image, instances } = await options.images.instancesOf(
        scopeOf(c.get("principal")),
        idParam(c, "id"),
      );
      return c.json({
        items: instances.map((instance) =>
          presentInstance(instance, {
            host: options.advertiseHost,
            containerPort: image.container_port,
          }),
        ),
      });
    },
  );

  return app;
}
