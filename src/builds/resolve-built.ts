import { builtImageReference } from "../domain/names.ts";
import type { BuiltImageResolver } from "../reconcilers/image/resolve-image.ts";
import type { Runnability } from "../reconcilers/image/status.ts";
import type { Db } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { BuildQueue } from "./build-queue.ts";
import { findBuild, requestBuild } from "./build-repository.ts";
import type { BuildPruner } from "./prune-builds.ts";

export type BuiltResolverDependencies = {
  readonly db: Db;
  readonly queue: BuildQueue;
  readonly pruner: BuildPruner;
  readonly imageNamePrefix: string;
  /** The local id of a reference, or undefined. */
  readonly imageId: (reference: string) => Promise<string | undefined>;
};

export function builtReferenceOf(prefix: string) {
  return (image: ImageRecord): string =>
    builtImageReference(prefix, image.user_id, image.id, image.tag);
}

const waiting = (reason: string, message: string): Runnability => ({
  ok: false,
  reason,
  message,
  degraded: false,
});

/**
 * What an upload image runs, for the controller. Never waits for a build: one that is wanted
 * is queued, and the answer is "Building" until the image is `ready`. A ready image whose built
 * image is gone (removed by hand, or its tag changed) is built again.
 */
export function createBuiltResolver(deps: BuiltResolverDependencies): BuiltImageResolver {
  const referenceOf = builtReferenceOf(deps.imageNamePrefix);

  return async (image) => {
    const reference = referenceOf(image);
    if (image.status === "ready") {
      const dockerImageId = await deps.imageId(reference);
      if (dockerImageId !== undefined) {
        deps.pruner.sweep(image.id, dockerImageId);
        return { ok: true, reference, dockerImageId };
      }
      if (image.source_path === null) {
        return {
          ok: false,
          reason: "ImageMissing",
          message: `${reference} is missing and there is no source to build it from`,
          degraded: true,
        };
      }
      await deps.db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom("images")
          .selectAll()
          .where("id", "=", image.id)
          .forUpdate()
          .executeTakeFirst();
        if (current?.status === "ready" && current.tag === image.tag) {
          await requestBuild(trx, current, "image_missing", { bumpGeneration: false });
        }
      });
      return waiting("Building", `${reference} is missing: building it again`);
    }
    if (image.status === "build_failed") {
      const build = await findBuild(deps.db, image.id);
      return {
        ok: false,
        reason: "BuildFailed",
        message: build?.error ?? "the build failed",
        degraded: true,
      };
    }
    if (image.source_path === null) {
      return waiting(
        "WaitingForSource",
        `no source uploaded yet: PUT /api/images/${image.id}/source`,
      );
    }
    const build = await findBuild(deps.db, image.id);
    deps.queue.enqueue(image.id, build?.generation ?? 0);
    return waiting(
      "Building",
      image.status === "building" && deps.queue.isBuilding(image.id) ? "building" : "build queued",
    );
  };
}
