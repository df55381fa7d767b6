import { rm } from "node:fs/promises";
import type { Transaction } from "kysely";
import { DesiredStateError } from "../desired/errors.ts";
import { lockVisibleImage, type Scope } from "../desired/image-service.ts";
import { insertNamedImage } from "../desired/insert-named-image.ts";
import type { NewImage } from "../domain/image-spec.ts";
import type { Db } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Database } from "../store/schema.ts";
import { type BuildPaths, contextDir, imageFolder } from "./build-paths.ts";
import { type BuildTrigger, requestBuild } from "./build-repository.ts";
import { type InstalledSource, installSource, type StagedSource } from "./source-staging.ts";

/**
 * Sources of upload images: a new image from an upload, a new source for an existing one, a
 * rebuild. Each is one transaction holding the image's row lock, in which the checked source
 * is moved into place (renames only) and a build requested; a failed commit puts back what
 * was there. Nothing here builds: the controller queues the build it is told about.
 */
export function createSourceService(db: Db, paths: BuildPaths) {
  async function lockVisible(
    trx: Transaction<Database>,
    scope: Scope,
    imageId: number,
  ): Promise<ImageRecord> {
    const image = await lockVisibleImage(trx, scope, imageId);
    if (image.status === "deleting") {
      throw new DesiredStateError("conflict", `image ${imageId} is being deleted`);
    }
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
    async createImage(userId: number, input: NewImage, staged: StagedSource): Promise<ImageRecord> {
      let folder: string | undefined;
      try {
        return await withInstalled(staged, (install) =>
          db.transaction().execute(async (trx) => {
            const image = await insertNamedImage(
              trx,
              userId,
              { ...input, source_type: "upload" },
              "pending",
            );
            // Ids are never reused, but a folder may survive a database that was reset.
            folder = imageFolder(paths, userId, image.id);
            await rm(folder, { recursive: true, force: true });
            const target = contextDir(paths, userId, image.id);
            await install(target);
            return requestBuild(trx, image, "upload", {
              source: { path: target, digest: staged.digest },
              bumpGeneration: false,
            });
          }),
        );
      } catch (error) {
        if (folder !== undefined) await rm(folder, { recursive: true, force: true });
        // Two uploads of one new name at once: the second meets the unique constraint.
        if ((error as { code?: unknown }).code === "23505") {
          throw new DesiredStateError("name_taken", `an image named ${input.name} already exists`);
        }
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
        db.transaction().execute(async (trx) => {
          const image = await lockVisible(trx, scope, imageId);
          const target = contextDir(paths, image.user_id, image.id);
          await install(target);
          return requestBuild(trx, image, trigger, {
            source: { path: target, digest: staged.digest },
            bumpGeneration: true,
          });
        }),
      );
    },

    /** Builds again from the kept source, without the build cache. */
    async rebuild(scope: Scope, imageId: number): Promise<ImageRecord> {
      return db.transaction().execute(async (trx) => {
        const image = await lockVisible(trx, scope, imageId);
        if (image.source_path === null) {
          throw new DesiredStateError(
            "conflict",
            `image ${imageId} has no source yet: upload it with PUT /api/images/${imageId}/source`,
          );
        }
        return requestBuild(trx, image, "rebuild", { bumpGeneration: true });
      });
    },
  };
}

export type SourceService = ReturnType<typeof createSourceService>;
