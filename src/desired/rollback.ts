import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { RevisionRecord } from "../store/revisions-repository.ts";
import { DesiredStateError } from "./errors.ts";
import {
  findVisibleImage,
  lockVisibleImage,
  refuseWhenDeleting,
  type Scope,
  type WriteSettings,
} from "./image-writes.ts";
import { rollbackRefusal, rollbackTarget } from "./rollback-target.ts";
import { writeRollback } from "./write-rollback.ts";

export type RollbackDependencies = {
  /** Whether the engine still holds an image (by its id): a rollback runs it, never builds it. */
  readonly imagePresent: (dockerImageId: string) => Promise<boolean>;
};

/**
 * Rollbacks and the rollout switch (issue 18). A user's rollback writes an earlier revision's
 * spec as a new change of the image (write-rollback.ts, the writer the controller's automatic
 * rollback uses too): audited as `image.rollback`, recorded as a new revision "rollback to
 * revision n" with the revision's image. An upload image runs the revision's built image again
 * (no build), so it is refused (409) when that image is gone from the engine or while a build
 * runs (rollback-target.ts `rollbackRefusal`).
 */
export function createRollbackService(
  store: Store,
  deps: RollbackDependencies,
  settings: WriteSettings,
) {
  /** The rules both rollbacks share (rollbackRefusal), as a 409. */
  function refuseRollback(image: ImageRecord, target: RevisionRecord): void {
    const refusal = rollbackRefusal(image, target);
    if (refusal !== undefined) throw new DesiredStateError(refusal.code, refusal.message);
  }

  /** The check that needs the engine, before the transaction (it holds the row lock). */
  async function refuseGoneImage(target: RevisionRecord, image: ImageRecord): Promise<void> {
    if (image.source_type !== "upload" || target.docker_image_id === null) return;
    if (!(await deps.imagePresent(target.docker_image_id))) {
      throw new DesiredStateError(
        "revision_image_gone",
        `revision ${target.revision}'s image is no longer kept: ${target.docker_image_id} is gone from the engine`,
      );
    }
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
      refuseRollback(seen.image, seen.target);
      await refuseGoneImage(seen.target, seen.image);
      return store.transaction(async (tx) => {
        const image = await lockVisibleImage(tx, scope, imageId);
        const target = targetOf(await tx.revisions.list(image.id), wanted);
        refuseRollback(image, target);
        if (
          target.revision !== seen.target.revision ||
          image.source_type !== seen.image.source_type
        )
          throw new DesiredStateError("conflict", `image ${imageId} changed meanwhile: try again`);
        return writeRollback(tx, image, target, { actor: scope.actor }, settings);
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
