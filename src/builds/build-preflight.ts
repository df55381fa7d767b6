import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ImageBuilder } from "../docker/build.ts";
import type { RegistryAuth } from "../docker/images.ts";
import { isReservedBuildArg } from "../domain/build-options.ts";
import { decideImageAccess, ownerOf, type ReferenceAccess } from "../domain/image-access.ts";
import { readDockerfile } from "./dockerfile-images.ts";

export type BuildInputs = {
  /**
   * The spec's build args and the ones the controller sets (`BUILDKIT_*`, which a tenant never
   * chooses: the spec refuses them, and the controller's win here anyway).
   */
  readonly buildArgs: Readonly<Record<string, string>>;
};

/** The owner's stored credentials for the registry of a reference, if any. */
export type RegistryAuthLookup = (
  userId: number,
  reference: string,
) => Promise<RegistryAuth | undefined>;

/** What stops a build before it starts; the message says which line and why. */
export class BuildRefused extends Error {
  override name = "BuildRefused";
}

/**
 * BuildKit keys `RUN --mount=type=cache` by id unless a namespace is set: without it, one
 * tenant's build could read what another's left in a shared cache. An opaque value per tenant.
 */
export function cacheNamespace(orchestratorId: string, userId: number): string {
  return createHash("sha256").update(`${orchestratorId}:${userId}`).digest("hex").slice(0, 24);
}

/**
 * Checks an upload's Dockerfile before the engine sees it: no `# syntax=` (it would run an image
 * of its choice as the Dockerfile frontend), and every image it reads is one its owner may use
 * (domain/image-access.ts): public images, allowed local ones, its own builds. An image that is
 * none of these must be given by a registry now: it is pulled first, as its owner, with the
 * owner's stored credentials for that registry (a private base; BuildKit without a session
 * could only pull anonymously). Returns the build args to build with; throws BuildRefused.
 */
export async function preflightBuild(input: {
  readonly contextDir: string;
  readonly userId: number;
  /** The spec's `build.args`: they can name the images `FROM $BASE` reads, so they count here. */
  readonly userArgs?: Readonly<Record<string, string>>;
  readonly access: ReferenceAccess;
  readonly builder: Pick<ImageBuilder, "describe" | "pull">;
  /** The owner's credentials for a base's registry: a private base is pulled with them. */
  readonly registryAuth?: RegistryAuthLookup | undefined;
}): Promise<BuildInputs> {
  const userArgs = Object.fromEntries(
    Object.entries(input.userArgs ?? {}).filter(([name]) => !isReservedBuildArg(name)),
  );
  const buildArgs = {
    ...userArgs,
    BUILDKIT_CACHE_MOUNT_NS: cacheNamespace(input.access.orchestratorId, input.userId),
  };
  let text: string;
  try {
    text = await readFile(join(input.contextDir, "Dockerfile"), "utf8");
  } catch (error) {
    throw new BuildRefused(`cannot read the Dockerfile: ${(error as Error).message}`);
  }
  const facts = readDockerfile(text, buildArgs);
  if (facts.directives.syntax !== undefined) {
    throw new BuildRefused(
      `Dockerfile line 1: the parser directive "# syntax=${facts.directives.syntax}" is not allowed: builds use the engine's own Dockerfile frontend`,
    );
  }
  const heredoc = facts.heredocs[0];
  if (heredoc !== undefined) {
    throw new BuildRefused(
      `Dockerfile line ${heredoc}: heredocs (<<EOF) need Dockerfile syntax 1.4, and this engine's own Dockerfile frontend is 1.2 (Docker 20.10; "# syntax=" frontends are not allowed): put the file in the build context and COPY it, or write it with printf in a RUN`,
    );
  }
  const unreadable = facts.unreadable[0];
  if (unreadable !== undefined) {
    throw new BuildRefused(
      `Dockerfile line ${unreadable.line}: cannot tell which image "${unreadable.reference}" names (an ARG without a value?)`,
    );
  }
  const owner = ownerOf(input.userId, input.access);
  for (const image of facts.images) {
    const local = await input.builder.describe(image.reference);
    const access = decideImageAccess(image.reference, owner, local, input.access);
    if (access.kind === "deny") {
      throw new BuildRefused(`Dockerfile line ${image.line}: ${access.message}`);
    }
    if (access.kind !== "pull") continue;
    // Pulled here, as the owner, with the owner's credentials for that registry: BuildKit then
    // finds it on the engine (it asks a registry itself only without a session, so anonymously).
    const auth = await input.registryAuth?.(input.userId, image.reference);
    try {
      await input.builder.pull(image.reference, auth);
    } catch (error) {
      const message = (error as Error).message;
      throw new BuildRefused(
        local === undefined
          ? `Dockerfile line ${image.line}: ${image.reference} could not be pulled${auth === undefined ? " (no stored credentials for its registry: POST /api/registries)" : " with the stored credentials"}: ${message}`
          : `Dockerfile line ${image.line}: ${image.reference} is a local image that is neither allowed (ALLOWED_LOCAL_IMAGES) nor given by a registry: ${message}`,
      );
    }
  }
  return { buildArgs };
}
