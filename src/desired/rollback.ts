import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { RevisionRecord } from "../store/revisions-repository.ts";
import { DesiredStateError } from "./errors.ts";
import {
  commitImageChange,
  findVisibleImage,
  lockVisibleImage,
  refuseWhenDeleting,
  type Scope,
  type WriteSettings,
} from "./image-writes.ts";
import { rollbackTarget, rolledBackSpec } from "./rollback-target.ts";
import { specColumns } from "./spec-columns.ts";
import { specOfRecord } from "./spec-diff.ts";

export type RollbackDependencies = {
  /** Whether the engine still holds an image (by its id): a rollback runs it, never builds it. */
  readonly imagePresent: (dockerImageId: string) => Promise<boolean>;
};

/**
 * Rollbacks and the rollout switch (issue 18). A rollback writes an earlier revision's spec as
 * a new change of the image, through `commitImageChange` (audited as `image.rollback`, recorded
 * as a new revision "rollback to revision n" with the revision's image). An upload image runs the
 * revision's built image again (the controller points its tag back at it, builds/resolve-built.ts):
 * no build, so it is refused (409) when that image is gone from the engine or while a build runs.
 */
export function createRollbackService(
  store: Store,
  deps: RollbackDependencies,
  settings: WriteSettings,
) {
  /** The checks that need the engine, before the transaction (it holds the row lock). */
  async function refuseGoneImage(target: RevisionRecord, image: ImageRecord): Promise<void> {
    if (image.source_type !== "upload") return;
    const gone = `revision ${target.revision}'s image is no longer kept`;
    if (target.docker_image_id === null) {
      throw new DesiredStateError("revision_image_gone", `${gone}: it was never built`);
    }
    if (!(await deps.imagePresent(target.docker_image_id))) {
      throw new DesiredStateError(
        "revision_image_gone",
        `${gone}: ${target.docker_image_id} is gone from the engine`,
      );
    }
  }

  function refuseBuilding(image: ImageRecord): void {
    if (
      image.source_type === "upload" &&
      (image.status === "pending" || image.status === "building")
    )
      throw new DesiredStateError(
        "conflict",
        `image ${image.id} is building: roll back once the build has ended`,
      );
  }

  function targetOf(revisions: RevisionRecord[], wanted: number | undefined): RevisionRecord {
    const found = rollbackTarget(revisions, wanted);
    if (!found.ok) throw new DesiredStateError(found.code, found.message);
    return found.target;
  }

  return {
    /** Rolls the image back to a kept revision (the previous one by default); answers the new one. */
    async rollback(
      scope: Scope,
      imageId: number,
      wanted: number | undefined,
    ): Promise<{ readonly image: ImageRecord; readonly revision: RevisionRecord }> {
      // Read first, outside the lock: the engine check is a round trip to Docker.
      const image = await findVisibleImage(store.images, scope, imageId);
      const seen = { image, target: targetOf(await store.revisions.list(image.id), wanted) };
      refuseWhenDeleting(seen.image);
      refuseBuilding(seen.image);
      await refuseGoneImage(seen.target, seen.image);
      return store.transaction(async (tx) => {
        const image = await lockVisibleImage(tx, scope, imageId);
        refuseWhenDeleting(image);
        refuseBuilding(image);
        const target = targetOf(await tx.revisions.list(image.id), wanted);
        if (
          target.revision !== seen.target.revision ||
          image.source_type !== seen.image.source_type
        )
          throw new DesiredStateError("conflict", `image ${imageId} changed meanwhile: try again`);
        const reference = target.spec.image;
        if ((typeof reference === "string") !== (image.source_type === "reference")) {
          throw new DesiredStateError(
            "conflict",
            `revision ${target.revision} ran ${typeof reference === "string" ? "an image reference" : "an uploaded source"}; the image now runs the other kind`,
          );
        }
        const spec = rolledBackSpec(specOfRecord(image), target.spec);
        const upload = image.source_type === "upload";
        const updated = await commitImageChange(
          tx,
          image,
          {
            columns: {
              ...specColumns(spec),
              ...(typeof reference === "string" ? { image_reference: reference } : {}),
              ...(upload
                ? {
                    status: "ready" as const,
                    docker_image_id: target.docker_image_id,
                    source_digest: target.source_digest,
                  }
                : {}),
            },
            bumpGeneration: true,
            reason: "rollback",
            action: "image.rollback",
            actor: scope.actor,
            audit: { old: {}, new: { rollback_to_revision: target.revision } },
            rollback: {
              revision: target.revision,
              dockerImageId: upload ? target.docker_image_id : null,
            },
          },
          settings,
        );
        const revision = await tx.revisions.latest(image.id);
        if (revision === undefined) throw new Error("a rollback recorded no revision");
        return { image: updated, revision };
      });
    },

    /** Holds (`paused`) or lets go the image's rollout; the same again changes nothing. */
    setPaused(scope: Scope, imageId: number, paused: boolean): Promise<ImageRecord> {
      return store.transaction(async (tx) => {
        const image = await lockVisibleImage(tx, scope, imageId);
        if (image.rollout_paused === paused) return image;
        refuseWhenDeleting(image);
        const updated = await tx.images.setRolloutPaused(image.id, paused);
        if (updated === undefined) return image;
        await tx.audit.append(scope.actor, [
          {
            action: paused ? "rollout.pause" : "rollout.resume",
            userId: image.user_id,
            imageId: image.id,
            target: `images/${image.id}`,
            old: { rollout_paused: image.rollout_paused },
            new: { rollout_paused: paused },
          },
        ]);
        return updated;
      });
    },
  };
}

export type RollbackService = ReturnType<typeof createRollbackService>;
