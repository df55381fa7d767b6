import type { Actor } from "../domain/actor.ts";
import { type ImageSpec, type NewImage, specFieldNames } from "../domain/image-spec.ts";
import { usageOfImage } from "../domain/quota.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import { lockClaims } from "./claim-locks.ts";
import { refuseBadSetDependencies } from "./dependency-rules.ts";
import { DesiredStateError } from "./errors.ts";
import {
  commitImageChange,
  createImage,
  refuseManualScale,
  refuseStaleVersion,
  type WriteSettings,
} from "./image-writes.ts";
import { specColumns } from "./spec-columns.ts";
import { diffSpec, replacesContainers, type SpecChange, specOfRecord } from "./spec-diff.ts";

/** One desired-state document as the API receives it: a complete spec (defaults filled). */
export type ApplyDocument = NewImage & {
  /** For images built from a folder: the content digest of the packed source. */
  readonly source_digest?: string | undefined;
  readonly resource_version?: number | undefined;
  /**
   * Whether the document itself says desired_instances (false: the default was filled in).
   * With autoscale, a document that does not say it keeps the autoscaler's count.
   */
  readonly desiredInstancesWritten?: boolean | undefined;
};

/**
 * An autoscaled document that leaves desired_instances out keeps the image's current count
 * (carried into the document's bounds): the autoscaler owns it, and applying the unchanged file
 * again must change nothing. Pure.
 */
export function withAutoscaledCount(
  current: ImageRecord | undefined,
  document: ApplyDocument,
): ApplyDocument {
  if (current === undefined || document.autoscale === null) return document;
  if (document.desiredInstancesWritten !== false) return document;
  const kept = Math.min(
    Math.max(current.desired_instances, document.min_instances),
    document.max_instances,
  );
  return { ...document, desired_instances: kept };
}

export type ApplyRequest = {
  /** The inventory name: prune only ever deletes images created by an apply of this set. */
  readonly set: string;
  readonly documents: readonly ApplyDocument[];
  readonly prune: boolean;
  readonly allowEmpty: boolean;
  readonly dryRun: boolean;
};

export type PlanAction = "create" | "update" | "replace" | "delete" | "unchanged";

export type PlanItem = {
  readonly name: string;
  readonly action: PlanAction;
  readonly changes: readonly SpecChange[];
  readonly reason?: string;
  readonly image_id: number | null;
  /** The server has no source with this digest: the client should upload it. */
  readonly needs_upload: boolean;
};

export type ApplyResult = {
  readonly set: string;
  readonly dry_run: boolean;
  readonly items: readonly PlanItem[];
  readonly summary: { create: number; change: number; delete: number; unchanged: number };
};

function sourceTypeOf(document: ApplyDocument): "reference" | "upload" {
  return document.image === undefined ? "upload" : "reference";
}

function specOfDocument(document: ApplyDocument): ImageSpec {
  return Object.fromEntries(
    specFieldNames.map((field) => [field, document[field]]),
  ) as unknown as ImageSpec;
}

/** What applying one document to the current image would do. Pure. */
export function planDocument(current: ImageRecord | undefined, document: ApplyDocument): PlanItem {
  const needsUpload =
    sourceTypeOf(document) === "upload" &&
    document.source_digest !== undefined &&
    (current === undefined || current.source_digest !== document.source_digest);
  if (current === undefined) {
    return {
      name: document.name,
      action: "create",
      changes: [],
      image_id: null,
      needs_upload: needsUpload,
    };
  }
  const changes = diffSpec(specOfRecord(current), specOfDocument(document));
  const sourceChanged = current.source_type !== sourceTypeOf(document);
  if (sourceChanged) {
    return {
      name: document.name,
      action: "replace",
      changes,
      reason:
        document.image === undefined
          ? "image now built from source"
          : "image now an existing reference",
      image_id: current.id,
      needs_upload: needsUpload,
    };
  }
  if (needsUpload) {
    return {
      name: document.name,
      action: "replace",
      changes,
      reason: "source changed",
      image_id: current.id,
      needs_upload: true,
    };
  }
  if (changes.length === 0) {
    return {
      name: document.name,
      action: "unchanged",
      changes,
      image_id: current.id,
      needs_upload: false,
    };
  }
  const replace = replacesContainers(changes);
  const first = changes.find((change) => change.field !== "desired_instances") ?? changes[0];
  return {
    name: document.name,
    action: replace ? "replace" : "update",
    changes,
    ...(replace ? { reason: `${first?.field === "image" ? "image" : first?.field} changed` } : {}),
    image_id: current.id,
    needs_upload: false,
  };
}

/** refuseManualScale for one document of a set, its error at the document's field. */
function refuseAutoscaledCount(
  current: ImageRecord,
  document: ApplyDocument,
  index: number,
  actor: Actor,
): void {
  try {
    refuseManualScale(current, {
      columns: {
        desired_instances: document.desired_instances,
        min_instances: document.min_instances,
        max_instances: document.max_instances,
        container_options: { autoscale: document.autoscale },
      },
      bumpGeneration: true,
      reason: "applied",
      action: "apply.update",
      actor,
    });
  } catch (error) {
    if (!(error instanceof DesiredStateError)) throw error;
    throw new DesiredStateError(error.code, error.message, {
      errors: [{ path: `documents[${index}].desired_instances`, message: "set by the autoscaler" }],
      ...(error.extensions === undefined ? {} : { extensions: error.extensions }),
    });
  }
}

function summarize(items: readonly PlanItem[]): ApplyResult["summary"] {
  return {
    create: items.filter((item) => item.action === "create").length,
    change: items.filter((item) => item.action === "update" || item.action === "replace").length,
    delete: items.filter((item) => item.action === "delete").length,
    unchanged: items.filter((item) => item.action === "unchanged").length,
  };
}

/** How much more (or less, negative) of the user's instances a plan item asks for. */
function instanceDelta(
  item: PlanItem,
  current: ImageRecord | undefined,
  document: ApplyDocument | undefined,
): number {
  const before = usageOfImage(current).instances;
  if (item.action === "delete") return -before;
  if (document === undefined) return 0;
  return document.desired_instances - before;
}

/** The items in the order they are written: deletions first, then by what they ask for. */
function executionOrder(
  items: readonly PlanItem[],
  byName: ReadonlyMap<string, ImageRecord>,
  documents: readonly ApplyDocument[],
): PlanItem[] {
  const documentOf = new Map(documents.map((document) => [document.name, document]));
  const delta = (item: PlanItem) =>
    item.action === "delete"
      ? Number.NEGATIVE_INFINITY
      : instanceDelta(item, byName.get(item.name), documentOf.get(item.name));
  const deltas = new Map(items.map((item) => [item, delta(item)]));
  return [...items].sort((left, right) => {
    const [first, second] = [deltas.get(left) ?? 0, deltas.get(right) ?? 0];
    return first === second ? 0 : first < second ? -1 : 1;
  });
}

/**
 * Applies a set of documents for one user in one transaction: all or nothing. Images named by
 * the set are created or updated; with prune, images this set created earlier and no longer
 * names are marked for deletion. Images made by hand are updated but never adopted or pruned.
 */
export async function applyDocuments(
  store: Store,
  settings: WriteSettings,
  owner: { readonly userId: number; readonly actor: Actor },
  request: ApplyRequest,
): Promise<ApplyResult> {
  const { userId, actor } = owner;
  const names = new Set<string>();
  for (const document of request.documents) {
    if (names.has(document.name)) {
      throw new DesiredStateError(
        "validation_failed",
        `duplicate name ${document.name} in the set`,
        {
          errors: [{ path: "documents", message: `duplicate name ${document.name}` }],
        },
      );
    }
    names.add(document.name);
  }

  const work = async (tx: Repositories): Promise<ApplyResult> => {
    const existing = await tx.images.listOwnedForUpdate(userId);
    const byName = new Map(existing.map((image) => [image.name, image]));
    const items: PlanItem[] = [];
    const documents = request.documents.map((document) =>
      withAutoscaledCount(byName.get(document.name), document),
    );

    for (const [index, document] of documents.entries()) {
      const current = byName.get(document.name);
      if (
        current !== undefined &&
        current.apply_set !== null &&
        current.apply_set !== request.set
      ) {
        throw new DesiredStateError(
          "conflict",
          `image ${document.name} is managed by apply set "${current.apply_set}"`,
          {
            errors: [
              {
                path: `documents[${index}].name`,
                message: `managed by apply set "${current.apply_set}"`,
              },
            ],
          },
        );
      }
      if (current?.status === "deleting") {
        throw new DesiredStateError(
          "conflict",
          `image ${document.name} is being deleted; apply again once it is gone`,
        );
      }
      if (current !== undefined) refuseStaleVersion(current, document.resource_version);
      // A dry run (diff) refuses what the apply would: a count the autoscaler owns.
      if (current !== undefined) refuseAutoscaledCount(current, document, index, actor);
      items.push(planDocument(current, document));
    }

    const pruned = request.prune
      ? existing.filter(
          (image) =>
            image.apply_set === request.set &&
            !names.has(image.name) &&
            image.status !== "deleting",
        )
      : [];
    if (request.prune && documents.length === 0 && pruned.length > 0 && !request.allowEmpty) {
      throw new DesiredStateError(
        "conflict",
        `this would delete all ${pruned.length} images of apply set "${request.set}"; pass allow_empty to confirm`,
      );
    }
    for (const image of pruned) {
      items.push({
        name: image.name,
        action: "delete",
        changes: [],
        image_id: image.id,
        needs_upload: false,
      });
    }

    // Every port and hostname of the set, locked in the one order (claim-locks.ts) before the
    // dependency graph's lock and the images' own checks, which take them one image at a time.
    if (!request.dryRun) await lockClaims(tx, documents);
    await refuseBadSetDependencies(
      tx,
      userId,
      documents,
      pruned.map((image) => image.name),
    );

    if (request.dryRun)
      return { set: request.set, dry_run: true, items, summary: summarize(items) };

    // What frees quota goes first (deletions, then the changes that ask for less), so a set
    // that moves resources between its images is judged by where it ends, not by its order.
    const applied: PlanItem[] = [];
    for (const item of executionOrder(items, byName, documents)) {
      const document = documents.find((candidate) => candidate.name === item.name);
      const current = byName.get(item.name);
      if (item.action === "delete" && current !== undefined) {
        await commitImageChange(
          tx,
          current,
          {
            markDeleting: true,
            bumpGeneration: true,
            reason: "pruned",
            action: "apply.prune",
            actor,
            dependenciesChecked: true,
          },
          settings,
        );
        applied.push(item);
        continue;
      }
      if (document === undefined) continue;
      if (item.action === "create") {
        const created = await createImage(
          tx,
          {
            userId,
            input: { ...document, source_type: sourceTypeOf(document), apply_set: request.set },
            status: "pending",
            actor,
            dependenciesChecked: true,
          },
          settings,
        );
        applied.push({ ...item, image_id: created.id });
        continue;
      }
      if (item.action === "unchanged" || current === undefined) {
        applied.push(item);
        continue;
      }
      const sourceChanged = current.source_type !== sourceTypeOf(document);
      await commitImageChange(
        tx,
        current,
        {
          columns: {
            source_type: sourceTypeOf(document),
            image_reference: document.image ?? null,
            ...specColumns(specOfDocument(document)),
            ...(sourceChanged ? { status: "pending" as const, docker_image_id: null } : {}),
          },
          bumpGeneration: true,
          reason: "applied",
          action: "apply.update",
          actor,
          dependenciesChecked: true,
        },
        settings,
      );
      applied.push(item);
    }
    applied.sort((left, right) => items.indexOf(left) - items.indexOf(right));
    return { set: request.set, dry_run: false, items: applied, summary: summarize(applied) };
  };

  return store.transaction(work);
}
