import type { WriteSettings } from "../desired/image-writes.ts";
import { runnableReference } from "../domain/names.ts";
import type { ImageResolver, Runnability } from "../reconcilers/image/ports.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { BuildQueue } from "./build-queue.ts";
import { requestBuild } from "./build-records.ts";
import type { BuildPruner } from "./prune-builds.ts";

export type BuiltResolverDependencies = {
  readonly store: Store;
  readonly queue: BuildQueue;
  readonly pruner: BuildPruner;
  readonly writeSettings: WriteSettings;
  /** The local id of a reference, or undefined. */
  readonly imageId: (reference: string) => Promise<string | undefined>;
  /**
   * Pulls a pushed build back from REGISTRY_URL under its built name; rejects when it cannot.
   * Undefined when nothing is pushed.
   */
  readonly restore?:
    | ((registryReference: string, reference: string) => Promise<boolean>)
    | undefined;
  /**
   * Names a local image (by id) as `reference`; resolves false when the engine lacks it.
   * Undefined: built tags are never moved back (a rollback then runs what the tag names).
   */
  readonly retag?: ((dockerImageId: string, reference: string) => Promise<boolean>) | undefined;
  /** Told when a pushed build could not be pulled back (it is built again instead). */
  readonly onRestoreFailed?: (imageId: number, error: unknown) => void;
};

const waiting = (reason: string, message: string): Runnability => ({
  ok: false,
  reason,
  message,
  degraded: false,
});

/**
 * What an upload image runs, for the controller. Never waits for a build: one that is wanted
 * is queued, and the answer is "Building" until the image is `ready`. A ready image whose built
 * image is gone (removed by hand, or its tag changed) is pulled back from REGISTRY_URL when it
 * was pushed there, and built again otherwise.
 */
export function createBuiltResolver(deps: BuiltResolverDependencies): ImageResolver {
  const settings = deps.writeSettings;

  /**
   * A build that was pushed (`registry_reference`) and is gone from this engine (removed, or this
   * is another engine) is pulled back rather than built again, when it was pushed under the name
   * and tag wanted now (a new tag is built). The id must be the one recorded.
   */
  async function restorePushed(image: ImageRecord, reference: string): Promise<string | undefined> {
    if (deps.restore === undefined || image.registry_reference === null) return undefined;
    try {
      if (!(await deps.restore(image.registry_reference, reference))) return undefined;
    } catch (error) {
      deps.onRestoreFailed?.(image.id, error);
      return undefined;
    }
    const restored = await deps.imageId(reference);
    return restored !== undefined && restored === image.docker_image_id ? restored : undefined;
  }

  /**
   * The build the row records (`docker_image_id`) is the one to run: a rollback records an
   * earlier build (desired/rollback.ts), and its tag is moved back to it here, level-triggered,
   * while the engine still has it. Otherwise (and normally, when they agree) the tag's image.
   */
  async function recordedBuild(
    image: ImageRecord,
    reference: string,
    tagged: string | undefined,
  ): Promise<string | undefined> {
    const recorded = image.docker_image_id;
    if (tagged === undefined || recorded === null || tagged === recorded) return tagged;
    if (deps.retag === undefined) return tagged;
    return (await deps.retag(recorded, reference)) ? recorded : tagged;
  }

  return async (image) => {
    const reference = runnableReference(image, settings.builtImagePrefix);
    if (image.status === "ready") {
      const dockerImageId = await recordedBuild(image, reference, await deps.imageId(reference));
      if (dockerImageId !== undefined) {
        deps.pruner.sweep(image.id, dockerImageId);
        return { ok: true, reference, dockerImageId };
      }
      const restored = await restorePushed(image, reference);
      if (restored !== undefined) return { ok: true, reference, dockerImageId: restored };
      if (image.source_path === null) {
        return {
          ok: false,
          reason: "ImageMissing",
          message: `${reference} is missing and there is no source to build it from`,
          degraded: true,
        };
      }
      await deps.store.transaction(async (tx) => {
        const current = await tx.images.findForUpdate(image.id);
        if (current?.status === "ready" && current.tag === image.tag) {
          await requestBuild(tx, current, "image_missing", { bumpGeneration: false }, settings);
        }
      });
      return waiting("Building", `${reference} is missing: building it again`);
    }
    if (image.status === "build_failed") {
      const build = await deps.store.builds.find(image.id);
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
    const build = await deps.store.builds.find(image.id);
    deps.queue.enqueue(image.id, build?.generation ?? 0);
    return waiting(
      "Building",
      image.status === "building" && deps.queue.isBuilding(image.id) ? "building" : "build queued",
    );
  };
}
