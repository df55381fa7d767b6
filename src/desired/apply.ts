import type { Kysely, Transaction } from "kysely";
import { sql } from "kysely";
import type { ImageSpec, NewImage } from "../domain/image-spec.ts";
import { imageEvent } from "../reconcilers/image/event-data.ts";
import { appendEvents } from "../store/events-repository.ts";
import { insertImage, notifyImageChanged } from "../store/images-repository.ts";
import { jsonb } from "../store/json.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Database } from "../store/schema.ts";
import { DesiredStateError } from "./errors.ts";
import { specColumns } from "./spec-columns.ts";
import { diffSpec, replacesContainers, type SpecChange, specOfRecord } from "./spec-diff.ts";

/** One desired-state document as the API receives it: a complete spec (defaults filled). */
export type ApplyDocument = NewImage & {
  /** For images built from a folder: the content digest of the packed source. */
  readonly source_digest?: string | undefined;
  readonly resource_version?: number | undefined;
};

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
  return {
    tag: document.tag,
    image: document.image,
    app_hostname: document.app_hostname,
    container_port: document.container_port,
    min_instances: document.min_instances,
    max_instances: document.max_instances,
    desired_instances: document.desired_instances,
    cpu_limit: document.cpu_limit,
    memory_limit: document.memory_limit,
    env: document.env,
    health_check: document.health_check,
  };
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

function summarize(items: readonly PlanItem[]): ApplyResult["summary"] {
  return {
    create: items.filter((item) => item.action === "create").length,
    change: items.filter((item) => item.action === "update" || item.action === "replace").length,
    delete: items.filter((item) => item.action === "delete").length,
    unchanged: items.filter((item) => item.action === "unchanged").length,
  };
}

/**
 * Applies a set of documents for one user in one transaction: all or nothing. Images named by
 * the set are created or updated; with prune, images this set created earlier and no longer
 * names are marked for deletion. Images made by hand are updated but never adopted or pruned.
 */
export async function applyDocuments(
  db: Kysely<Database>,
  userId: number,
  request: ApplyRequest,
): Promise<ApplyResult> {
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

  const work = async (trx: Transaction<Database>): Promise<ApplyResult> => {
    const existing = await trx
      .selectFrom("images")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("name")
      .forUpdate()
      .execute();
    const byName = new Map(existing.map((image) => [image.name, image]));
    const items: PlanItem[] = [];

    for (const [index, document] of request.documents.entries()) {
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
      if (
        current !== undefined &&
        document.resource_version !== undefined &&
        document.resource_version !== current.resource_version
      ) {
        throw new DesiredStateError(
          "stale_resource_version",
          `image ${document.name} is at resource_version ${current.resource_version}, not ${document.resource_version}`,
        );
      }
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
    if (
      request.prune &&
      request.documents.length === 0 &&
      pruned.length > 0 &&
      !request.allowEmpty
    ) {
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

    if (request.dryRun)
      return { set: request.set, dry_run: true, items, summary: summarize(items) };

    const applied: PlanItem[] = [];
    for (const item of items) {
      const document = request.documents.find((candidate) => candidate.name === item.name);
      const current = byName.get(item.name);
      if (item.action === "delete" && current !== undefined) {
        await trx
          .updateTable("images")
          .set({
            status: "deleting",
            deletion_requested_at: sql`now()`,
            generation: sql<number>`generation + 1`,
            resource_version: sql<number>`resource_version + 1`,
            updated_at: sql<Date>`now()`,
          })
          .where("id", "=", current.id)
          .execute();
        await notifyImageChanged(trx, current.id);
        applied.push(item);
        continue;
      }
      if (document === undefined) continue;
      const spec = specOfDocument(document);
      if (item.action === "create") {
        const created = await insertImage(trx, {
          user_id: userId,
          name: document.name,
          source_type: sourceTypeOf(document),
          image_reference: document.image ?? null,
          status: "pending",
          ...specColumns(spec),
          apply_set: request.set,
        });
        await notifyImageChanged(trx, created.id);
        applied.push({ ...item, image_id: created.id });
        continue;
      }
      if (item.action === "unchanged" || current === undefined) {
        applied.push(item);
        continue;
      }
      const columns = specColumns(spec);
      const updated = await trx
        .updateTable("images")
        .set({
          source_type: sourceTypeOf(document),
          image_reference: document.image ?? null,
          ...columns,
          env: jsonb(columns.env),
          health_check: jsonb(columns.health_check),
          ...(current.source_type !== sourceTypeOf(document)
            ? { status: "pending" as const, docker_image_id: null }
            : {}),
          generation: sql<number>`generation + 1`,
          resource_version: sql<number>`resource_version + 1`,
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", current.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      if (updated.desired_instances !== current.desired_instances) {
        await appendEvents(trx, [
          imageEvent("image.scaled", updated, "applied", {
            desired_instances: updated.desired_instances,
            previous_desired_instances: current.desired_instances,
          }),
        ]);
      }
      await notifyImageChanged(trx, current.id);
      applied.push(item);
    }
    return { set: request.set, dry_run: false, items: applied, summary: summarize(applied) };
  };

  return db.transaction().execute(work);
}
