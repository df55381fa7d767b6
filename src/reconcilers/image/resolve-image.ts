import type { ContainerRuntime, RegistryAuth } from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import { decideImageAccess, ownerOf, type ReferenceAccess } from "../../domain/image-access.ts";
import type { Logger } from "../../logger.ts";
import type { ImageResolver, Runnability } from "./ports.ts";

const waitingForBuild: ImageResolver = async (image) => ({
  ok: false,
  reason: "Building",
  message: `image is ${image.status}`,
  degraded: false,
});

/** The owner's credentials for the registry of a reference, if it has stored any. */
export type RegistryAuthLookup = (
  userId: number,
  reference: string,
) => Promise<RegistryAuth | undefined>;

const noCredentials: RegistryAuthLookup = async () => undefined;

const refused = (reason: string, message: string): Runnability => ({
  ok: false,
  reason,
  message,
  degraded: true,
});

/** Whether a failed pull says the reference does not exist (versus a registry or network error). */
function isNotFound(message: string): boolean {
  return /not found|manifest unknown|does not exist|no such image|pull access denied/i.test(
    message,
  );
}

/**
 * An existing reference is usable when its owner may use it (domain/image-access.ts) and the
 * engine has it or a registry gives it, as its pull_policy says: `missing` pulls when the engine
 * lacks it, `always` pulls once per generation of the spec, `never` uses only what the engine
 * has. A tenant's local image that is neither its own build nor allowed by the admin is usable
 * only once a pull of it has worked for that tenant (kept in memory per tenant, reference and
 * image id). A failed pull says whether the reference does not exist (`ImageNotFound`) or the
 * registry failed (`ImagePullFailed`); the workqueue retries with back-off. A pull carries the
 * image owner's credentials for that registry (`POST /api/registries`), never another tenant's.
 * Uploads are answered by `resolveBuilt`.
 */
export function createImageResolver(
  runtime: ContainerRuntime,
  logger: Logger,
  access: ReferenceAccess,
  resolveBuilt: ImageResolver = waitingForBuild,
  registryAuth: RegistryAuthLookup = noCredentials,
): ImageResolver {
  const verifiedByPull = new Set<string>();
  /** `pull_policy: always` pulls once per generation of the image's spec. */
  const pulledForGeneration = new Set<string>();

  async function pull(
    imageId: number,
    userId: number,
    reference: string,
  ): Promise<string | undefined> {
    const auth = await registryAuth(userId, reference);
    logger.info({ imageId, reference, withCredentials: auth !== undefined }, "pulling image");
    await runtime.pull(reference, auth);
    return (await runtime.describeImage(reference))?.id;
  }

  const pullFailed = (reference: string, error: unknown, wasLocal: boolean): Runnability => {
    const message = (error as Error).message;
    if (wasLocal) {
      return refused(
        "ImageNotAllowed",
        `${reference} is a local image that is neither allowed (ALLOWED_LOCAL_IMAGES) nor given by a registry: ${message}`,
      );
    }
    return isNotFound(message)
      ? refused("ImageNotFound", `${reference} does not exist: ${message}`)
      : refused("ImagePullFailed", `${reference} could not be pulled: ${message}`);
  };

  return async (image) => {
    if (image.source_type === "upload") return resolveBuilt(image);
    const reference = image.image_reference;
    if (reference === null) return refused("InvalidSpec", "image has no reference");
    const { pull_policy: pullPolicy } = withOptionDefaults(image.container_options);
    const owner = ownerOf(image.user_id, access);
    const generationKey = `${image.id}:${image.generation}`;
    if (pullPolicy === "always" && !pulledForGeneration.has(generationKey)) {
      try {
        await pull(image.id, image.user_id, reference);
        pulledForGeneration.add(generationKey);
      } catch (error) {
        return pullFailed(reference, error, false);
      }
    }
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
      if (
        decision.kind === "allow" ||
        verifiedByPull.has(key) ||
        pulledForGeneration.has(generationKey)
      ) {
        return { ok: true, reference, dockerImageId: local.id };
      }
    }
    if (pullPolicy === "never") {
      return local === undefined
        ? refused("ImageNotFound", `${reference} is not on the engine, and pull_policy is never`)
        : refused(
            "ImageNotAllowed",
            `${reference} is a local image this user may not run (ALLOWED_LOCAL_IMAGES), and pull_policy is never`,
          );
    }
    let pulledId: string | undefined;
    try {
      pulledId = await pull(image.id, image.user_id, reference);
    } catch (error) {
      return pullFailed(reference, error, local !== undefined);
    }
    if (pulledId === undefined) {
      return refused("ImagePullFailed", `${reference} is still missing after a pull`);
    }
    verifiedByPull.add(`${owner.userId} ${reference} ${pulledId}`);
    return { ok: true, reference, dockerImageId: pulledId };
  };
}
