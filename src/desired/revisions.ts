import type { Actor } from "../domain/actor.ts";
import { containerSpecFields } from "../domain/image-spec.ts";
import { canonicalJson } from "../domain/spec-hash.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import { specOfRecord } from "./spec-diff.ts";

/** How many revisions of an image are kept, with their images (like Kubernetes' revisionHistoryLimit). */
export const keptRevisions = 10;

/** What a revision runs: the fields that need new containers when they change, and the source. */
export function runtimeIdentity(image: ImageRecord): string {
  const spec = specOfRecord(image);
  const fields = Object.fromEntries(
    containerSpecFields.map((field) => [field, spec[field] ?? null]),
  );
  return canonicalJson({ ...fields, source_digest: image.source_digest });
}

/**
 * Whether a write of an image's desired state starts a new revision: what its containers run
 * changed (spec or source), or a user asked for a new build of the same source. An image without
 * any revision yet gets its first once it can run something (a reference, or its first source).
 * A build the controller runs again for a missing image, a scale or a deletion start none.
 */
export function startsRevision(
  before: ImageRecord | undefined,
  after: ImageRecord,
  options: { readonly hasRevision: boolean; readonly userBuild: boolean },
): boolean {
  if (after.status === "deleting") return false;
  if (!options.hasRevision)
    return after.source_type === "reference" || after.source_digest !== null;
  if (options.userBuild) return true;
  return before === undefined || runtimeIdentity(before) !== runtimeIdentity(after);
}

/**
 * Records a new revision of `after` when the write starts one, and forgets those past the kept
 * number, in the caller's transaction (which holds the image's row lock).
 */
export async function recordRevision(
  tx: Repositories,
  before: ImageRecord | undefined,
  after: ImageRecord,
  change: {
    readonly actor: Actor;
    readonly cause: string;
    /** A user asked for new containers (a build, a rollback): a revision whatever changed. */
    readonly userBuild: boolean;
    /** The image it runs, when known at once (a rollback's). */
    readonly dockerImageId?: string | null;
    /** Whether the image had a revision before, when the caller already knows (else read). */
    readonly hasRevision?: boolean;
  },
): Promise<void> {
  const hasRevision = change.hasRevision ?? (await tx.revisions.latest(after.id)) !== undefined;
  const starts = startsRevision(before, after, {
    hasRevision,
    userBuild: change.userBuild,
  });
  if (!starts) return;
  await tx.revisions.append({
    imageId: after.id,
    spec: { ...specOfRecord(after) },
    sourceDigest: after.source_digest,
    dockerImageId: change.dockerImageId ?? null,
    generation: after.generation,
    actor: change.actor.name,
    actorUserId: change.actor.userId,
    cause: change.cause,
  });
  await tx.revisions.trim(after.id, keptRevisions);
}
