import type { Actor } from "../domain/actor.ts";
import {
  crossFieldIssues,
  type ImagePatch,
  type ImageSpec,
  type SpecIssue,
} from "../domain/image-spec.ts";
import { newInstanceRows } from "../domain/names.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord, InstanceRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import type { DesiredState } from "../store/schema.ts";
import { type ApplyRequest, type ApplyResult, applyDocuments } from "./apply.ts";
import { DesiredStateError } from "./errors.ts";
import {
  type CreateImageInput,
  commitImageChange,
  createImage,
  findVisibleImage,
  lockVisibleImage,
  refuseStaleVersion,
  refuseWhenDeleting,
  type Scope,
  type WriteSettings,
} from "./image-writes.ts";
import { specColumns } from "./spec-columns.ts";
import { diffSpec, type SpecChange, specOfRecord } from "./spec-diff.ts";
import { createWriteBatcher, WriteAlone } from "./write-batches.ts";

export type { Scope } from "./image-writes.ts";

export type ImageServiceOptions = WriteSettings & {
  readonly maxInstancesCap: number;
  /** Names the containers of the instances the API adds (`{id}-{image}-{instance}`). */
  readonly orchestratorId: string;
};

/** An instance with the image it belongs to (undefined when that image is already gone). */
export type InstanceOfImage = {
  readonly instance: InstanceRecord;
  readonly image: ImageRecord | undefined;
};

function clampToBounds(spec: ImageSpec): number {
  return Math.min(Math.max(spec.desired_instances, spec.min_instances), spec.max_instances);
}

/** The fields a scaling write sets: nothing any other image's write is checked against. */
const countFields: ReadonlySet<string> = new Set([
  "desired_instances",
  "min_instances",
  "max_instances",
  "resource_version",
]);

/**
 * Whether a PATCH sets instance counts only: those go in shared transactions. A write of any
 * other field is checked against other images (hostnames, dependencies, host ports, secrets),
 * and two such checks in one transaction would not see each other's write.
 */
function changesCountsOnly(patch: ImagePatch): boolean {
  return Object.entries(patch).every(
    ([field, value]) => value === undefined || countFields.has(field),
  );
}

function refuseIssues(issues: readonly SpecIssue[]): void {
  if (issues.length === 0) return;
  throw new DesiredStateError(
    "validation_failed",
    issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "),
    { errors: issues },
  );
}

async function findVisibleInstance(
  repositories: Pick<Repositories, "instances">,
  scope: Scope,
  instanceId: string,
): Promise<InstanceRecord> {
  const instance = await repositories.instances.find(instanceId);
  if (instance === undefined || (scope.userId !== undefined && instance.user_id !== scope.userId))
    throw new DesiredStateError("not_found", `container ${instanceId} not found`);
  return instance;
}

/**
 * The API's decisions about desired state: every write is one transaction holding the image
 * row lock, validated against the whole spec, and committed through `commitImageChange`.
 * Nothing here talks to Docker.
 */
export function createImageService(store: Store, options: ImageServiceOptions) {
  // Group commit on both backends. On PGlite a group's statements take turns on the one
  // connection, but they are few (the steps taken together, store/together.ts: four for a
  // group of one tenant's writes, whatever its size), where each write alone took its own
  // five; bench/api on PGlite went from 218-282 to 350-512 writes/s.
  const batches = createWriteBatcher(store);

  /**
   * Locks the image, lets `decide` say what changes, and commits it as the scope's actor: in a
   * transaction of its own, or, for a tenant's write `batched`, in one shared with
   * other writes (group commit; write-batches.ts), where it goes on only if its row and its user's
   * quota lock are free now, and runs alone otherwise.
   */
  function change(
    scope: Scope,
    imageId: number,
    decide: (image: ImageRecord, tx: Repositories) => Promise<ImageChangeDecision>,
    how: "alone" | "batched" = "alone",
  ): Promise<ImageRecord> {
    const writeAfter =
      (lock: (tx: Repositories) => Promise<ImageRecord>) => async (tx: Repositories) => {
        const image = await lock(tx);
        const decision = await decide(image, tx);
        return decision === "unchanged"
          ? image
          : commitImageChange(tx, image, { ...decision, actor: scope.actor }, options);
      };
    const alone = writeAfter((tx) => lockVisibleImage(tx, scope, imageId));
    const userId = scope.userId;
    if (how === "alone" || userId === undefined) {
      return store.transaction(alone);
    }
    const shared = writeAfter(async (tx) => {
      const image = await tx.images.lockOwnedIfFree(imageId, userId);
      if (image === undefined) throw new WriteAlone();
      return image;
    });
    return batches.run(`${userId}/${imageId}`, { shared, alone });
  }

  return {
    get: (scope: Scope, imageId: number) => findVisibleImage(store.images, scope, imageId),

    list: (userId: number | undefined) => store.images.list(userId),

    /** A user's image by name, if any (uploads decide between a new image and a new source). */
    findByName: (userId: number, name: string) => store.images.findByName(userId, name),

    /** Images with their instances (`/api/images/with-containers`). */
    async listWithInstances(
      userId: number | undefined,
    ): Promise<Array<{ image: ImageRecord; instances: InstanceRecord[] }>> {
      const [images, instances] = await Promise.all([
        store.images.list(userId),
        store.instances.list({ userId }),
      ]);
      const byImage = new Map<number, InstanceRecord[]>();
      for (const instance of instances) {
        const own = byImage.get(instance.image_id);
        if (own === undefined) byImage.set(instance.image_id, [instance]);
        else own.push(instance);
      }
      return images.map((image) => ({ image, instances: byImage.get(image.id) ?? [] }));
    },

    /** An image the caller may see, with its instances. */
    async instancesOf(
      scope: Scope,
      imageId: number,
    ): Promise<{ image: ImageRecord; instances: InstanceRecord[] }> {
      const image = await findVisibleImage(store.images, scope, imageId);
      return { image, instances: await store.instances.listOfImage(image.id) };
    },

    /** Instances the caller may see, optionally of one image, each with its image. */
    async listInstances(scope: Scope, imageId?: number): Promise<InstanceOfImage[]> {
      const [instances, images] = await Promise.all([
        store.instances.list({ userId: scope.userId, imageId }),
        store.images.list(scope.userId),
      ]);
      const byId = new Map(images.map((image) => [image.id, image]));
      return instances.map((instance) => ({ instance, image: byId.get(instance.image_id) }));
    },

    async getInstance(scope: Scope, instanceId: string): Promise<InstanceOfImage> {
      const instance = await findVisibleInstance(store, scope, instanceId);
      return { instance, image: await store.images.find(instance.image_id) };
    },

    /** A whole set of desired-state documents, in one transaction (see apply.ts). */
    apply: (userId: number, actor: Actor, request: ApplyRequest): Promise<ApplyResult> =>
      applyDocuments(store, options, { userId, actor }, request),

    create(userId: number, actor: Actor, input: CreateImageInput, status: ImageRecord["status"]) {
      refuseIssues(crossFieldIssues(input, options.maxInstancesCap));
      return store.transaction((tx) => createImage(tx, { userId, input, status, actor }, options));
    },

    /** Applies a partial change; a stale resource_version is refused, an empty change is a no-op. */
    async patch(
      scope: Scope,
      imageId: number,
      patch: ImagePatch,
    ): Promise<{ image: ImageRecord; changes: SpecChange[] }> {
      let changes: SpecChange[] = [];
      const image = await change(
        scope,
        imageId,
        async (image) => {
          refuseWhenDeleting(image);
          const { resource_version: expectedResourceVersion, ...given } = patch;
          refuseStaleVersion(image, expectedResourceVersion);
          const fields = Object.fromEntries(
            Object.entries(given).filter(([, value]) => value !== undefined),
          ) as Partial<ImageSpec>;
          if (fields.image !== undefined && image.source_type !== "reference") {
            throw new DesiredStateError(
              "validation_failed",
              "image: this image is built from uploaded source",
              {
                errors: [
                  {
                    path: "image",
                    message: "cannot be set on an image built from uploaded source",
                  },
                ],
              },
            );
          }
          const current = specOfRecord(image);
          const asked: ImageSpec = { ...current, ...fields };
          // Autoscaled, new bounds carry the count into them (the autoscaler owns it otherwise).
          const merged: ImageSpec =
            asked.autoscale !== null && fields.desired_instances === undefined
              ? { ...asked, desired_instances: clampToBounds(asked) }
              : asked;
          refuseIssues(crossFieldIssues(merged, options.maxInstancesCap));
          changes = diffSpec(current, fields);
          if (changes.length === 0) return "unchanged";
          return {
            columns: {
              ...specColumns(merged),
              ...(fields.image === undefined ? {} : { image_reference: fields.image }),
            },
            bumpGeneration: true,
            reason: "desired_instances_changed",
            action: "image.update",
            expectedResourceVersion,
          };
        },
        changesCountsOnly(patch) ? "batched" : "alone",
      );
      return { image, changes };
    },

    /**
     * Marks the image for deletion; the controller removes its containers, then (when asked
     * with `volumes`) its named volumes no other image names, then the image. Asking again with
     * `volumes` while it is being deleted adds that.
     */
    delete: (scope: Scope, imageId: number, options: { readonly volumes?: boolean } = {}) =>
      change(scope, imageId, async (image) => {
        const deleteVolumes = options.volumes === true && !image.delete_volumes;
        if (image.status === "deleting" && !deleteVolumes) return "unchanged";
        return {
          markDeleting: image.status !== "deleting",
          ...(deleteVolumes ? { deleteVolumes: true } : {}),
          bumpGeneration: true,
          reason: "deleted",
          action: "image.delete",
        };
      }),

    /** `POST /api/containers/{image_id}`: n more instances, never past max_instances. */
    /**
     * `count` more instances: the desired count and the new instance rows in one transaction,
     * so the answer names them (their containers and ports come from the controller). Rows
     * already wanted but not yet added by the controller count towards them.
     */
    async addInstances(
      scope: Scope,
      imageId: number,
      count: number,
    ): Promise<{ image: ImageRecord; added: InstanceRecord[] }> {
      return store.transaction(async (tx) => {
        const image = await lockVisibleImage(tx, scope, imageId);
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
        const updated = await commitImageChange(
          tx,
          image,
          {
            columns: { desired_instances: desired },
            bumpGeneration: true,
            reason: "desired_instances_changed",
            action: "image.add_instances",
            actor: scope.actor,
          },
          options,
        );
        const live = (await tx.instances.listOfImage(image.id)).filter(
          (instance) => instance.deletion_requested_at === null,
        ).length;
        const added = await tx.instances.insert(
          newInstanceRows(
            options.orchestratorId,
            image,
            Math.max(0, Math.min(count, desired - live)),
          ),
        );
        return { image: updated, added };
      });
    },

    /** Start or stop one instance (its desired state). */
    async setInstanceState(
      scope: Scope,
      instanceId: string,
      state: DesiredState,
    ): Promise<InstanceOfImage> {
      let instance = await findVisibleInstance(store, scope, instanceId);
      const image = await change(scope, instance.image_id, async (image, tx) => {
        instance = await findVisibleInstance(tx, scope, instanceId);
        refuseWhenDeleting(image);
        if (instance.deletion_requested_at !== null) {
          throw new DesiredStateError("conflict", `container ${instanceId} is being removed`);
        }
        if (instance.desired_state === state) return "unchanged";
        await tx.instances.setDesiredState(instanceId, state);
        return {
          bumpGeneration: true,
          reason: state === "running" ? "start" : "stop",
          action: state === "running" ? "instance.start" : "instance.stop",
          audit: {
            old: { [`instances.${instanceId}.desired_state`]: instance.desired_state },
            new: { [`instances.${instanceId}.desired_state`]: state },
          },
        };
      });
      return { instance: { ...instance, desired_state: state }, image };
    },

    /**
     * Asks for one instance's container to be restarted (stop with its grace period, start):
     * recorded on the instance, carried out by the controller once.
     */
    async restartInstance(scope: Scope, instanceId: string): Promise<InstanceOfImage> {
      let instance = await findVisibleInstance(store, scope, instanceId);
      const image = await change(scope, instance.image_id, async (image, tx) => {
        instance = await findVisibleInstance(tx, scope, instanceId);
        refuseWhenDeleting(image);
        if (instance.deletion_requested_at !== null) {
          throw new DesiredStateError("conflict", `container ${instanceId} is being removed`);
        }
        if (instance.desired_state !== "running") {
          throw new DesiredStateError(
            "conflict",
            `container ${instanceId} is stopped: start it instead of restarting it`,
          );
        }
        instance = await tx.instances.requestRestart(instanceId);
        return {
          bumpGeneration: false,
          reason: "restart",
          action: "instance.restart",
          audit: {
            old: {},
            new: {
              [`instances.${instanceId}.restart_requested_at`]: instance.restart_requested_at,
            },
          },
        };
      });
      return { instance, image };
    },

    /** Removes one instance: one fewer desired, never below min_instances. */
    async deleteInstance(scope: Scope, instanceId: string): Promise<InstanceOfImage> {
      let instance = await findVisibleInstance(store, scope, instanceId);
      let marked = false;
      const image = await change(scope, instance.image_id, async (image, tx) => {
        instance = await findVisibleInstance(tx, scope, instanceId);
        if (instance.deletion_requested_at !== null || image.status === "deleting")
          return "unchanged";
        const desired = image.desired_instances - 1;
        if (desired < image.min_instances) {
          throw new DesiredStateError(
            "min_instances_violated",
            `removing it would leave ${desired} instances; min_instances is ${image.min_instances}`,
          );
        }
        await tx.instances.markForDeletion([instanceId], "deleted");
        marked = true;
        return {
          columns: { desired_instances: desired },
          bumpGeneration: true,
          reason: "desired_instances_changed",
          action: "instance.delete",
          audit: {
            old: { [`instances.${instanceId}.deletion_requested`]: false },
            new: { [`instances.${instanceId}.deletion_requested`]: true },
          },
        };
      });
      return {
        instance: marked
          ? { ...instance, deletion_requested_at: new Date(), deletion_reason: "deleted" }
          : instance,
        image,
      };
    },
  };
}

type ImageChangeDecision = Omit<Parameters<typeof commitImageChange>[2], "actor"> | "unchanged";

export type ImageService = ReturnType<typeof createImageService>;
