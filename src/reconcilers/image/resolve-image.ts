import type { ContainerRuntime } from "../../docker/runtime.ts";
import { decideImageAccess, ownerOf, type ReferenceAccess } from "../../domain/image-access.ts";
import type { Logger } from "../../logger.ts";
import type { ImageResolver, Runnability } from "./ports.ts";

const waitingForBuild: ImageResolver = async (image) => ({
  ok: false,
  reason: "Building",
  message: `image is ${image.status}`,
  degraded: false,
});

const refused = (reason: string, message: string): Runnability => ({
  ok: false,
  reason,
  message,
  degraded: true,
});

/**
 * An existing reference is usable when its owner may use it (domain/image-access.ts) and the
 * engine has it or a registry gives it: a tenant's local image that is neither its own build
 * nor allowed by the admin is usable only once a pull of it has worked for that tenant (kept
 * in memory per tenant, reference and image id). The Docker error is the message when a pull
 * fails (the workqueue then retries with back-off). Uploads are answered by `resolveBuilt`.
 */
export function createImageResolver(
  runtime: ContainerRuntime,
  logger: Logger,
  access: ReferenceAccess,
  resolveBuilt: ImageResolver = waitingForBuild,
): ImageResolver {
  const verifiedByPull = new Set<string>();

  async function pull(imageId: number, reference: string): Promise<string | undefined> {
    logger.info({ imageId, reference }, "pulling image");
    await runtime.pull(reference);
    return (await runtime.describeImage(reference))?.id;
  }

  return async (image) => {
    if (image.source_type === "upload") return resolveBuilt(image);
    const reference = image.image_reference;
    if (reference === null) return refused("InvalidSpec", "image has no reference");
    const owner = ownerOf(image.user_id, access);
    const local = await runtime.describeImage(reference);
    const decision = decideImageAccess(reference, owner, local, access);
    if (decision.kind === "deny") {
      return refused(
        decision.code === "image_not_found" ? "ImageNotFound" : "ImageNotAllowed",
        decision.message,
      );
    }
    if (local !== undefined) {
      const key = `${owner.userId} ${reference} ${local.id}`;
      if (decision.kind === "allow" || verifiedByPull.has(key)) {
        return { ok: true, reference, dockerImageId: local.id };
      }
    }
    let pulledId: string | undefined;
    try {
      pulledId = await pull(image.id, reference);
    } catch (error) {
      return refused(
        local === undefined ? "ImagePullFailed" : "ImageNotAllowed",
        local === undefined
          ? `${reference} is not available locally and could not be pulled: ${(error as Error).message}`
          : `${reference} is a local image that is neither allowed (ALLOWED_LOCAL_IMAGES) nor given by a registry: ${(error as Error).message}`,
      );
    }
    if (pulledId === undefined) {
      return refused("ImagePullFailed", `${reference} is still missing after a pull`);
    }
    verifiedByPull.add(`${owner.userId} ${reference} ${pulledId}`);
    return { ok: true, reference, dockerImageId: pulledId };
  };
}
