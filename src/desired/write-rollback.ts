import type { Actor } from "../domain/actor.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import type { RevisionRecord } from "../store/revisions-repository.ts";
import { commitImageChange, type WriteSettings } from "./image-writes.ts";
import { rolledBackSpec } from "./rollback-target.ts";
import { specColumns } from "./spec-columns.ts";
import { specOfRecord } from "./spec-diff.ts";

/** Who rolls back, and why beyond "rollback to revision n". */
export type RollbackAuthor = {
  readonly actor: Actor;
  /** Said after the revision in the new revision's cause ("the rollout of revision 5 failed"). */
  readonly reason?: string;
  /**
   * The controller's automatic rollback (reconcilers/image/rollout-tracker.ts): the revision's
   * spec was accepted when it was written, so no quota, option, secret or dependency check
   * runs again (a refusal would leave the failed rollout running). A user's runs them all.
   */
  readonly trusted?: boolean;
};

/**
 * The one writer of "return to revision n" (issue 18), for a user's rollback (rollback.ts) and
 * the controller's automatic one alike, in the caller's transaction (which holds the image's row
 * lock; the caller checked `rollbackRefusal` first). Writes the revision's spec again
 * (`rolledBackSpec`: what containers run comes from the revision, the counts and the controller's
 * own options stay) through `commitImageChange`: a new revision "rollback to revision n", audited
 * as `image.rollback`. An upload runs the revision's build again, never builds it: the resolver
 * (builds/resolve-built.ts) points the built tag back at it. Returns the image and the new revision.
 */
export async function writeRollback(
  tx: Repositories,
  image: ImageRecord,
  target: RevisionRecord,
  author: RollbackAuthor,
  settings: WriteSettings,
): Promise<{ readonly image: ImageRecord; readonly revision: RevisionRecord }> {
  const reference = target.spec.image;
  const spec = rolledBackSpec(specOfRecord(image), target.spec);
  const upload = image.source_type === "upload";
  const cause =
    author.reason === undefined
      ? `rollback to revision ${target.revision}`
      : `rollback to revision ${target.revision}: ${author.reason}`;
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
      actor: author.actor,
      audit: {
        old: {},
        new: {
          rollback_to_revision: target.revision,
          ...(author.reason === undefined ? {} : { cause }),
        },
      },
      rollback: {
        revision: target.revision,
        dockerImageId: upload ? target.docker_image_id : null,
        cause,
      },
      ...(author.trusted === true ? { trusted: true } : {}),
    },
    settings,
  );
  const revision = await tx.revisions.latest(image.id);
  if (revision === undefined) throw new Error("a rollback recorded no revision");
  return { image: updated, revision };
}
