import type { Actor } from "../domain/actor.ts";
import { containerSpecFields, type ImageSpec } from "../domain/image-spec.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import type { RevisionRecord } from "../store/revisions-repository.ts";
import { keptRevisions } from "./revisions.ts";
import { specColumns } from "./spec-columns.ts";
import { specOfRecord } from "./spec-diff.ts";

/**
 * The controller's automatic rollback (reconcilers/image/rollout-tracker.ts), when a rollout
 * failed (a user's rollback is rollback.ts). Whether an image can go back to a revision by
 * writing its spec again: a reference image can (the reference is in the spec); an upload can
 * when the revision recorded its build and no build runs now: the image runs that build again
 * (the resolver, builds/resolve-built.ts, points the built tag back at it; the builds of the
 * kept revisions stay in the engine).
 */
export function canRollBack(image: ImageRecord, revision: RevisionRecord): boolean {
  if (image.status === "deleting") return false;
  if (image.source_type === "reference") return typeof revision.spec.image === "string";
  return (
    revision.docker_image_id !== null &&
    typeof revision.spec.image !== "string" &&
    image.status !== "pending" &&
    image.status !== "building"
  );
}

/**
 * Writes an earlier revision's spec again as a new revision, in the caller's transaction (which
 * holds the image's row lock): what containers run (image, env, command, limits, health check,
 * …) comes from the revision, how many and how they roll (counts, rollout, pool) stay as they
 * are (as Kubernetes' rollback restores the pod template only). The spec was accepted when it
 * was written, so no quota or option check runs again. Returns the image and the new revision.
 */
export async function writeRollback(
  tx: Repositories,
  image: ImageRecord,
  revision: RevisionRecord,
  change: { readonly actor: Actor; readonly cause: string },
): Promise<{ readonly image: ImageRecord; readonly revision: number }> {
  const restored = revision.spec as Partial<ImageSpec>;
  const current = specOfRecord(image);
  const spec = {
    ...current,
    ...Object.fromEntries(
      containerSpecFields
        .filter((field) => field in restored)
        .map((field) => [field, restored[field]]),
    ),
  } as ImageSpec;
  const updated = await tx.images.writeDesired(image.id, {
    columns: {
      ...specColumns(spec),
      ...(typeof restored.image === "string" ? { image_reference: restored.image } : {}),
      // An upload runs the revision's build again: no build (canRollBack: it has one).
      ...(image.source_type === "upload"
        ? {
            status: "ready" as const,
            docker_image_id: revision.docker_image_id,
            source_digest: revision.source_digest,
          }
        : {}),
    },
    bumpGeneration: true,
  });
  const appended = await tx.revisions.append({
    imageId: image.id,
    spec: { ...specOfRecord(updated) },
    sourceDigest: revision.source_digest,
    dockerImageId: revision.docker_image_id,
    generation: updated.generation,
    actor: change.actor.name,
    actorUserId: change.actor.userId,
    cause: change.cause,
  });
  await tx.revisions.trim(image.id, keptRevisions);
  await tx.audit.append(change.actor, [
    {
      action: "image.rollback",
      userId: image.user_id,
      imageId: image.id,
      target: `images/${image.id}`,
      old: { revision: revision.revision },
      new: { revision: appended.revision, cause: change.cause },
    },
  ]);
  return { image: updated, revision: appended.revision };
}
