import type { ContainerRuntime } from "../../docker/runtime.ts";
import type { Logger } from "../../logger.ts";
import type { ImageResolver } from "./ports.ts";

const waitingForBuild: ImageResolver = async (image) => ({
  ok: false,
  reason: "Building",
  message: `image is ${image.status}`,
  degraded: false,
});

/**
 * A reference must exist locally or be pullable; the Docker error is the message when it is
 * neither (the workqueue then retries with back-off). Uploads are answered by `resolveBuilt`
 * (the build pipeline).
 */
export function createImageResolver(
  runtime: ContainerRuntime,
  logger: Logger,
  resolveBuilt: ImageResolver = waitingForBuild,
): ImageResolver {
  return async (image) => {
    if (image.source_type === "upload") return resolveBuilt(image);
    const reference = image.image_reference;
    if (reference === null) {
      return {
        ok: false,
        reason: "InvalidSpec",
        message: "image has no reference",
        degraded: true,
      };
    }
    let dockerImageId = await runtime.imageId(reference);
    if (dockerImageId === undefined) {
      try {
        logger.info({ imageId: image.id, reference }, "pulling image");
        await runtime.pull(reference);
      } catch (error) {
        return {
          ok: false,
          reason: "ImagePullFailed",
          message: `${reference} is not available locally and could not be pulled: ${(error as Error).message}`,
          degraded: true,
        };
      }
      dockerImageId = await runtime.imageId(reference);
      if (dockerImageId === undefined) {
        return {
          ok: false,
          reason: "ImagePullFailed",
          message: `${reference} is still missing after a pull`,
          degraded: true,
        };
      }
    }
    return { ok: true, reference, dockerImageId };
  };
}
