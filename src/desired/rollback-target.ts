import { containerSpecFields, type ImageSpec } from "../domain/image-spec.ts";

/** What a rollback needs of the image. */
export type RollbackImage = {
  readonly id: number;
  readonly source_type: "reference" | "upload";
  readonly status: string;
};

/** What a rollback needs of a kept revision. */
export type RevisionView = {
  readonly revision: number;
  readonly spec: Readonly<Record<string, unknown>>;
  readonly source_digest: string | null;
  readonly docker_image_id: string | null;
};

export type RollbackTarget<Revision extends RevisionView> =
  | { readonly ok: true; readonly target: Revision }
  | {
      readonly ok: false;
      readonly code: "revision_not_found" | "conflict";
      readonly message: string;
    };

/**
 * The kept revision a rollback returns to (revisions newest first): the one asked for, or the
 * one before the current (like `kubectl rollout undo`). The current one is refused: rolling
 * back to it changes nothing. Pure.
 */
export function rollbackTarget<Revision extends RevisionView>(
  revisions: readonly Revision[],
  wanted: number | undefined,
): RollbackTarget<Revision> {
  const current = revisions[0];
  if (wanted === undefined) {
    const previous = revisions[1];
    return previous === undefined
      ? { ok: false, code: "conflict", message: "there is no previous revision to roll back to" }
      : { ok: true, target: previous };
  }
  const target = revisions.find((revision) => revision.revision === wanted);
  if (target === undefined) {
    const kept = revisions.map((revision) => revision.revision).join(", ");
    return {
      ok: false,
      code: "revision_not_found",
      message: `revision ${wanted} not found (kept: ${kept === "" ? "none" : kept})`,
    };
  }
  if (target === current) {
    return {
      ok: false,
      code: "conflict",
      message: `revision ${wanted} is the current revision: nothing to roll back`,
    };
  }
  return { ok: true, target };
}

/**
 * The spec a rollback writes: what the revision ran (the fields that need new containers:
 * image or tag, env, command, limits, volumes, …) over the current spec, so that the instance
 * counts and the controller's own options (restart and pull policy, depends_on, pool) stay as
 * they are now, as a Kubernetes rollback restores the pod template only. Pure.
 */
export function rolledBackSpec(current: ImageSpec, revisionSpec: RevisionView["spec"]): ImageSpec {
  const restored: Record<string, unknown> = { ...current };
  for (const field of containerSpecFields) {
    restored[field] = field in revisionSpec ? revisionSpec[field] : undefined;
  }
  return restored as ImageSpec;
}

export type RollbackRefusal = {
  readonly code: "conflict" | "revision_image_gone";
  readonly message: string;
};

/**
 * Why an image cannot go back to a kept revision now, or undefined when it can: the rules a
 * user's rollback answers 409 with and the controller's automatic one logs. Not while the image
 * is being deleted; an upload runs the revision's build again (never builds it), so not while a
 * build runs, nor to a revision that recorded no build; never across kinds (a reference for an
 * upload or the reverse). Whether the build is still in the engine is the caller's to ask. Pure.
 */
export function rollbackRefusal(
  image: RollbackImage,
  target: RevisionView,
): RollbackRefusal | undefined {
  if (image.status === "deleting")
    return { code: "conflict", message: `image ${image.id} is being deleted` };
  const upload = image.source_type === "upload";
  if (upload && (image.status === "pending" || image.status === "building"))
    return {
      code: "conflict",
      message: `image ${image.id} is building: roll back once the build has ended`,
    };
  if (upload && target.docker_image_id === null)
    return {
      code: "revision_image_gone",
      message: `revision ${target.revision}'s image is no longer kept: it was never built`,
    };
  const reference = typeof target.spec.image === "string";
  if (reference !== !upload)
    return {
      code: "conflict",
      message: `revision ${target.revision} ran ${reference ? "an image reference" : "an uploaded source"}; the image now runs the other kind`,
    };
  return undefined;
}
