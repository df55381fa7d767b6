import { rm } from "node:fs/promises";
import { DesiredStateError } from "../desired/errors.ts";
import {
  createImage,
  lockVisibleImage,
  refuseWhenDeleting,
  type Scope,
  type WriteSettings,
} from "../desired/image-writes.ts";
import type { Actor } from "../domain/actor.ts";
import type { NewImage } from "../domain/image-spec.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import { type BuildPaths, contextDir, imageFolder } from "./build-paths.ts";
import { type BuildTrigger, requestBuild } from "./build-records.ts";
import { type InstalledSource, installSource, type StagedSource } from "./source-staging.ts";

/**
 * Sources of upload images: a new image from an upload, a new source for an existing one, a
 * rebuild. Each is one transaction holding the image's row lock, in which the checked source
 * is moved into place (renames only) and a build requested; a failed commit puts back what
 * was there. Nothing here builds: the controller queues the build it is told about.
 */
export function createSourceService(store: Store, paths: BuildPaths, settings: WriteSettings) {
  async function lockVisible(
    tx: Repositories,
    scope: Scope,
    imageId: number,
  ): Promise<ImageRecord> {
    const image = await lockVisibleImage(tx, scope, imageId);
    refuseWhenDeleting(image);
    if (image.source_type !== "upload") {
      throw new DesiredStateError(
        "conflict",
        `image ${imageId} runs the existing image ${image.image_reference}; it is not built from source`,
      );
    }
    return image;
  }

  /** Runs `change` with the source installed; puts the old one back if it does not commit. */
  async function withInstalled(
    staged: StagedSource,
    change: (install: (target: string) => Promise<void>) => Promise<ImageRecord>,
  ): Promise<ImageRecord> {
    let installed: InstalledSource | undefined;
    try {
      const image = await change(async (target) => {
        installed = await installSource(staged, target);
      });
      await installed?.commit();
      return image;
    } catch (error) {
      await installed?.restore();
      throw error;
    } finally {
      await staged.staging.discard();
    }
  }

  return {
    /** A new image built from `staged`: status `pending`, its build requested. */
    async createImage(
      userId: number,
      actor: Actor,
      input: NewImage,
      staged: StagedSource,
    ): Promise<ImageRecord> {
      let folder: string | undefined;
      try {
        return await withInstalled(staged, (install) =>
          store.transaction(async (tx) => {
            const image = await createImage(
              tx,
              { userId, input: { ...input, source_type: "upload" }, status: "pending", actor },
              settings,
            );
            // Ids are never reused, but a folder may survive a database that was reset.
            folder = imageFolder(paths, userId, image.id);
            await rm(folder, { recursive: true, force: true });
            const target = contextDir(paths, userId, image.id);
            await install(target);
            return requestBuild(
              tx,
              image,
              "upload",
              { source: { path: target, digest: staged.digest }, bumpGeneration: false, actor },
              settings,
            );
          }),
        );
      } catch (error) {
        if (folder !== undefined) await rm(folder, { recursive: true, force: true });
        throw error;
      }
    },

    /** Replaces the source of an upload image (made by an upload or by apply) and rebuilds. */
    async replaceSource(
      scope: Scope,
      imageId: number,
      staged: StagedSource,
      trigger: Extract<BuildTrigger, "upload" | "source">,
    ): Promise<ImageRecord> {
      return withInstalled(staged, (install) =>
        store.transaction(async (tx) => {
          const image = await lockVisible(tx, scope, imageId);
          const target = contextDir(paths, image.user_id, image.id);
          await install(target);
          return requestBuild(
            tx,
            image,
            trigger,
            {
              source: { path: target, digest: staged.digest },
              bumpGeneration: true,
              actor: scope.actor,
            },
            settings,
          );
        }),
      );
    },

    /** Builds again from the kept source, without the build cache. */
    async rebuild(scope: Scope, imageId: number): Promise<ImageRecord> {
      return store.transaction(async (tx) => {
        const image = await lockVisible(tx, scope, imageId);
        if (image.source_path === null) {
          throw new DesiredStateError(
            "conflict",
            `image ${imageId} has no source yet: upload it with PUT /api/images/${imageId}/source`,
          );
        }
        return requestBuild(
          tx,
          image,
          "rebuild",
          { bumpGeneration: true, actor: scope.actor },
          settings,
        );
      });
    },
  };
}

export type SourceService = ReturnType<typeof createSourceService>;
