import type { Context } from "hono";
import type { ImageService } from "../desired/image-service.ts";
import type { NewImage } from "../domain/image-spec.ts";
import type { AppEnv } from "./app-env.ts";
import { presentImage } from "./presenters.ts";

/**
 * Registers an image that runs an existing reference (JSON, or a multipart form without a
 * file): 201 with the image and its location.
 */
export async function registerReference(
  c: Context<AppEnv>,
  images: ImageService,
  userId: number,
  spec: NewImage,
): Promise<Response> {
  const image = await images.create(
    userId,
    c.get("principal").actor,
    { ...spec, source_type: "reference" },
    "pending",
  );
  c.get("log").info({ imageId: image.id, name: image.name }, "image registered");
  return c.json(presentImage(image), 201, { location: `/api/images/${image.id}` });
}
