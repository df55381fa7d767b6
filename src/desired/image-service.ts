import type { Kysely, Transaction } from "kysely";
import { sql } from "kysely";
import {
  type ImagePatch,
  type ImageSpec,
  instanceBoundIssues,
  type NewImage,
} from "../domain/image-spec.ts";
import { parseCpu, parseMemory } from "../domain/quantity.ts";
import { imageEvent } from "../reconcilers/image/event-data.ts";
import { appendEvents } from "../store/events-repository.ts";
import { findImage, findImageForUpdate, notifyImageChanged } from "../store/images-repository.ts";
import {
  findInstance,
  markInstancesForDeletion,
  setDesiredState,
} from "../store/instances-repository.ts";
import { jsonb } from "../store/json.ts";
import type { ImageRecord, InstanceRecord } from "../store/records.ts";
import type { Database, DesiredState, ImagesTable } from "../store/schema.ts";
import { DesiredStateError } from "./errors.ts";
import { insertNamedImage } from "./insert-named-image.ts";
import { diffSpec, type SpecChange, specOfRecord } from "./spec-diff.ts";

/** Whose resources a caller may touch: one user, or everyone (admin). */
export type Scope = { readonly userId: number | undefined };

export type CreateImageInput = NewImage & {
  readonly source_type: "reference" | "upload";
  readonly apply_set?: string | null;
};

const nanoCpus = (cpu: string) => {
  const parsed = parseCpu(cpu);
  if (!parsed.ok)
    throw new DesiredStateError("validation_failed", parsed.message, {
      errors: [{ path: "cpu_limit", message: parsed.message }],
    });
  return parsed.value;
};
const memoryBytes = (memory: string) => {
  const parsed = parseMemory(memory);
  if (!parsed.ok)
    throw new DesiredStateError("validation_failed", parsed.message, {
      errors: [{ path: "memory_limit", message: parsed.message }],
    });
  return parsed.value;
};

/** Inside a transaction, pass the transaction: the embedded database has one connection. */
async function findVisibleInstance(
  executor: Kysely<Database>,
  scope: Scope,
  instanceId: string,
): Promise<InstanceRecord> {
  const instance = await findInstance(executor, instanceId);
  if (instance === undefined || (scope.userId !== undefined && instance.user_id !== scope.userId)) {
    throw new DesiredStateError("not_found", `container ${instanceId} not found`);
  }
  return instance;
}

/** The image row, locked for the rest of the transaction, when the caller may see it; else 404. */
export async function lockVisibleImage(
  trx: Transaction<Database>,
  scope: Scope,
  imageId: number,
): Promise<ImageRecord> {
  const image = await findImageForUpdate(trx, imageId);
  if (!visible(scope, image))
    throw new DesiredStateError("not_found", `image ${imageId} not found`);
  return image;
}

function visible(scope: Scope, image: ImageRecord | undefined): image is ImageRecord {
  return image !== undefined && (scope.userId === undefined || image.user_id === scope.userId);
}

/**
 * The API's decisions about desired state: every write is one transaction holding the image
 * row lock, validated against the whole spec, with its events, then a NOTIFY for the
 * controller. Nothing here talks to Docker.
 */
export function createImageService(
  db: Kysely<Database>,
  options: { readonly maxInstancesCap: number },
) {
  function refuseWhenDeleting(image: ImageRecord) {
    if (image.status === "deleting")
      throw new DesiredStateError("conflict", `image ${image.id} is being deleted`);
  }

  async function commitChange(
    trx: Transaction<Database>,
    image: ImageRecord,
    values: Partial<Record<keyof ImagesTable, unknown>>,
    changes: readonly SpecChange[],
  ): Promise<ImageRecord> {
    const updated = await trx
      .updateTable("images")
      .set({
        ...(values as object),
        generation: sql<number>`generation + 1`,
        resource_version: sql<number>`resource_version + 1`,
        updated_at: sql<Date>`now()`,
      })
      .where("id", "=", image.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const scaled = changes.find((change) => change.field === "desired_instances");
    if (scaled !== undefined) {
      await appendEvents(trx, [
        imageEvent("image.scaled", updated, "desired_instances_changed", {
          desired_instances: updated.desired_instances,
          previous_desired_instances: image.desired_instances,
        }),
      ]);
    }
    await notifyImageChanged(trx, image.id);
    return updated;
  }

  return {
    async get(scope: Scope, imageId: number): Promise<ImageRecord> {
      const image = await findImage(db, imageId);
      if (!visible(scope, image))
        throw new DesiredStateError("not_found", `image ${imageId} not found`);
      return image;
    },

    async create(
      userId: number,
      input: CreateImageInput,
      status: ImageRecord["status"],
    ): Promise<ImageRecord> {
      const issues = instanceBoundIssues(input, options.maxInstancesCap);
      if (issues.length > 0)
        throw new DesiredStateError(
          "validation_failed",
          issues.map((i) => `${i.path}: ${i.message}`).join("; "),
          { errors: issues },
        );
      return db.transaction().execute(async (trx) => {
        const image = await insertNamedImage(trx, userId, input, status);
        await notifyImageChanged(trx, image.id);
        return image;
      });
    },

    /** Applies a partial change; a stale resource_version is refused, an empty change is a no-op. */
    async patch(
      scope: Scope,
      imageId: number,
      patch: ImagePatch,
    ): Promise<{ image: ImageRecord; changes: SpecChange[] }> {
      return db.transaction().execute(async (trx) => {
        const image = await lockVisibleImage(trx, scope, imageId);
        refuseWhenDeleting(image);
        if (
          patch.resource_version !== undefined &&
          patch.resource_version !== image.resource_version
        ) {
          throw new DesiredStateError(
            "stale_resource_version",
            `image ${imageId} is at resource_version ${image.resource_version}, not ${patch.resource_version}: read it again and retry`,
            { extensions: { resource_version: image.resource_version } },
          );
        }
        const { resource_version: _, ...given } = patch;
        const fields = Object.fromEntries(
          Object.entries(given).filter(([, value]) => value !== undefined),
        ) as Partial<ImageSpec>;
        if (fields.image !== undefined && image.source_type !== "reference") {
          throw new DesiredStateError(
            "validation_failed",
            "image: this image is built from uploaded source",
            {
              errors: [
                { path: "image", message: "cannot be set on an image built from uploaded source" },
              ],
            },
          );
        }
        const current = specOfRecord(image);
        const merged: ImageSpec = { ...current, ...fields };
        const issues = instanceBoundIssues(merged, options.maxInstancesCap);
        if (issues.length > 0) {
          throw new DesiredStateError(
            "validation_failed",
            issues.map((i) => `${i.path}: ${i.message}`).join("; "),
            { errors: issues },
          );
        }
        const changes = diffSpec(current, fields);
        if (changes.length === 0) return { image, changes };
        const values: Partial<Record<keyof ImagesTable, unknown>> = {};
        for (const change of changes) {
          if (change.field === "image") values.image_reference = change.to;
          else if (change.field === "env" || change.field === "health_check")
            values[change.field] = jsonb(change.to);
          else values[change.field] = change.to;
        }
        if (values.cpu_limit !== undefined) values.nano_cpus = nanoCpus(values.cpu_limit as string);
        if (values.memory_limit !== undefined)
          values.memory_bytes = memoryBytes(values.memory_limit as string);
        return { image: await commitChange(trx, image, values, changes), changes };
      });
    },

    /** Marks the image for deletion; the controller removes its containers, then the image. */
    async delete(scope: Scope, imageId: number): Promise<ImageRecord> {
      return db.transaction().execute(async (trx) => {
        const image = await lockVisibleImage(trx, scope, imageId);
        if (image.status === "deleting") return image;
        return commitChange(
          trx,
          image,
          { status: "deleting", deletion_requested_at: sql`now()` },
          [],
        );
      });
    },

    /** `POST /api/containers/{image_id}`: n more instances, never past max_instances. */
    async addInstances(scope: Scope, imageId: number, count: number): Promise<ImageRecord> {
      return db.transaction().execute(async (trx) => {
        const image = await lockVisibleImage(trx, scope, imageId);
        refuseWhenDeleting(image);
        const desired = image.desired_instances + count;
        if (desired > image.max_instances) {
          throw new DesiredStateError(
            "max_instances_exceeded",
            `adding ${count} would make ${desired} instances; max_instances is ${image.max_instances}`,
            {
              extensions: {
                desired_instances: image.desired_instances,
                max_instances: image.max_instances,
              },
            },
          );
        }
        const changes: SpecChange[] = [
          { field: "desired_instances", from: image.desired_instances, to: desired },
        ];
        return commitChange(trx, image, { desired_instances: desired }, changes);
      });
    },

    getInstance: (scope: Scope, instanceId: string) => findVisibleInstance(db, scope, instanceId),

    /** Start or stop one instance (its desired state). */
    async setInstanceState(
      scope: Scope,
      instanceId: string,
      state: DesiredState,
    ): Promise<InstanceRecord> {
      return db.transaction().execute(async (trx) => {
        const instance = await findVisibleInstance(trx, scope, instanceId);
        const image = await lockVisibleImage(trx, scope, instance.image_id);
        refuseWhenDeleting(image);
        if (instance.deletion_requested_at !== null) {
          throw new DesiredStateError("conflict", `container ${instanceId} is being removed`);
        }
        if (instance.desired_state !== state) {
          await setDesiredState(trx, instanceId, state);
          await commitChange(trx, image, {}, []);
        }
        return { ...instance, desired_state: state };
      });
    },

    /** Removes one instance: one fewer desired, never below min_instances. */
    async deleteInstance(scope: Scope, instanceId: string): Promise<InstanceRecord> {
      return db.transaction().execute(async (trx) => {
        const instance = await findVisibleInstance(trx, scope, instanceId);
        const image = await lockVisibleImage(trx, scope, instance.image_id);
        if (instance.deletion_requested_at !== null || image.status === "deleting") return instance;
        const desired = image.desired_instances - 1;
        if (desired < image.min_instances) {
          throw new DesiredStateError(
            "min_instances_violated",
            `removing it would leave ${desired} instances; min_instances is ${image.min_instances}`,
          );
        }
        await markInstancesForDeletion(trx, [instanceId], "deleted");
        const changes: SpecChange[] = [
          { field: "desired_instances", from: image.desired_instances, to: desired },
        ];
        await commitChange(trx, image, { desired_instances: desired }, changes);
        return { ...instance, deletion_requested_at: new Date(), deletion_reason: "deleted" };
      });
    },
  };
}

export type ImageService = ReturnType<typeof createImageService>;
