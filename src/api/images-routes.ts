import { Hono } from "hono";
import { z } from "zod";
import type { ImageService } from "../desired/image-service.ts";
import { imagePatchSchema, newImageSchema } from "../domain/image-spec.ts";
import type { Db } from "../store/database.ts";
import { listImages } from "../store/images-repository.ts";
import { listInstances } from "../store/instances-repository.ts";
import type { TokensRepository } from "../store/tokens-repository.ts";
import type { AppEnv } from "./env.ts";
import { presentImage, presentInstance } from "./presenters.ts";
import { ProblemError } from "./problem.ts";
import { actingUserId, scopeOf } from "./tenant.ts";
import { idParam, jsonBody, parseWith, queryParams } from "./validation.ts";

export type ImagesRoutesOptions = {
  readonly db: Db;
  readonly images: ImageService;
  readonly tokens: TokensRepository;
  readonly maxInstancesCap: number;
  readonly advertiseHost: string;
  /** Handles multipart uploads (the build pipeline); JSON registers an existing image. */
  readonly upload?: (c: import("hono").Context<AppEnv>) => Promise<Response>;
  /** Extra routes under /api/images (rebuild, build logs, source). */
  readonly extend?: (app: Hono<AppEnv>) => void;
};

const userQuery = z.strictObject({ user: z.string().optional() });

/** `/api/images`: desired state in, status out. Every write only touches Postgres. */
export function imagesRoutes(options: ImagesRoutesOptions) {
  const app = new Hono<AppEnv>();
  const createSchema = newImageSchema(options.maxInstancesCap);

  app.post("/", async (c) => {
    const contentType = c.req.header("content-type") ?? "";
    if (/^multipart\/form-data/i.test(contentType)) {
      if (options.upload === undefined)
        throw new ProblemError("unsupported_media_type", "uploads are not enabled");
      return options.upload(c);
    }
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
    const query = queryParams(c, userQuery);
    const userId = await actingUserId(c.get("principal"), query.user, options.tokens);
    const image = await options.images.create(
      userId,
      { ...input, source_type: "reference" },
      "pending",
    );
    c.get("log").info({ imageId: image.id, name: image.name }, "image registered");
    return c.json(presentImage(image), 201, { location: `/api/images/${image.id}` });
  });

  /** The admin sees everyone's images, or one user's with `?user=NAME`; a user only their own. */
  const listedOwner = async (c: import("hono").Context<AppEnv>) => {
    const query = queryParams(c, userQuery);
    const principal = c.get("principal");
    if (query.user === undefined) return scopeOf(principal).userId;
    return actingUserId(principal, query.user, options.tokens);
  };

  app.get("/", async (c) => {
    const images = await listImages(options.db, await listedOwner(c));
    return c.json({ items: images.map((image) => presentImage(image)) });
  });

  app.get("/with-containers", async (c) => {
    const userId = await listedOwner(c);
    const [images, instances] = await Promise.all([
      listImages(options.db, userId),
      listInstances(options.db, { userId }),
    ]);
    return c.json({
      items: images.map((image) => {
        const own = instances.filter((instance) => instance.image_id === image.id);
        return {
          ...presentImage(image),
          containers: {
            total: own.length,
            running: own.filter((instance) => instance.observed_state === "running").length,
            stopped: own.filter((instance) => instance.observed_state === "stopped").length,
            failing: own.filter(
              (instance) =>
                instance.observed_state === "crash_loop" || instance.observed_state === "exited",
            ).length,
          },
        };
      }),
    });
  });

  app.get("/:id", async (c) => {
    const image = await options.images.get(scopeOf(c.get("principal")), idParam(c, "id"));
    return c.json(presentImage(image, { withBuildLogs: true }));
  });

  app.patch("/:id", async (c) => {
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
  });

  app.delete("/:id", async (c) => {
    const image = await options.images.delete(scopeOf(c.get("principal")), idParam(c, "id"));
    c.get("log").info({ imageId: image.id }, "image deletion requested");
    return c.json(presentImage(image), 202);
  });

  app.get("/:id/containers", async (c) => {
    const image = await options.images.get(scopeOf(c.get("principal")), idParam(c, "id"));
    const instances = await listInstances(options.db, { imageId: image.id });
    return c.json({
      items: instances.map((instance) =>
        presentInstance(instance, {
          host: options.advertiseHost,
          containerPort: image.container_port,
        }),
      ),
    });
  });

  options.extend?.(app);
  return app;
}
