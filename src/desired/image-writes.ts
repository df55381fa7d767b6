import type { Actor } from "../domain/actor.ts";
import { changedFields } from "../domain/audit.ts";
import { buildSettingsHash } from "../domain/build-options.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import { imageEvent } from "../domain/event-builders.ts";
import { type ReferenceAccess, referencePolicy } from "../domain/image-access.ts";
import type { NewImage } from "../domain/image-spec.ts";
import { runnableReference } from "../domain/names.ts";
import {
  growsUsage,
  limitsOf,
  type QuotaPolicy,
  quotaExceeded,
  subtractUsage,
  usageOfImage,
} from "../domain/quota.ts";
import { sameCanonicalJson } from "../domain/spec-hash.ts";
import {
  type DesiredWrite,
  ImageNameTakenError,
  type ImagesRepository,
} from "../store/images-repository.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import type { ImageStatus } from "../store/schema.ts";
import { overridesOf } from "../store/users-repository.ts";
import { refuseBadDependencies, refuseDeletingDependency } from "./dependency-rules.ts";
import { DesiredStateError } from "./errors.ts";
import { refuseTakenHostname } from "./hostname-rules.ts";
import { type HostPortRange, refuseForbiddenOptions } from "./option-rules.ts";
import { recordRevision } from "./revisions.ts";
import { refuseUnknownSecrets } from "./secret-rules.ts";
import { specColumns } from "./spec-columns.ts";

/**
 * Whose resources a caller may touch (one user, or everyone for the admin), and who the caller
 * is: every write it makes is audited under that actor.
 */
export type Scope = { readonly userId: number | undefined; readonly actor: Actor };

/**
 * What every desired-state write needs beyond the rows: the prefix of built tags (events name
 * what an image's containers run), who the admin is (the admin's images may name any image;
 * tenants' may not name ids or others' builds), and the default per-user limits (QUOTA_*).
 * Writers that never ask for more (the controller rebuilding a missing image) may leave the
 * quota out; a write that asks for more without it is refused, so that a wiring mistake cannot
 * switch quotas off.
 */
export type WriteSettings = Pick<ReferenceAccess, "builtImagePrefix" | "adminUserId"> & {
  readonly quota?: QuotaPolicy | undefined;
  /** The host ports tenants may ask for by number (HOST_PORT_RANGE). */
  readonly hostPortRange?: HostPortRange | undefined;
  /** Host folders the admin's bind mounts may be under (BIND_MOUNT_ALLOWLIST). */
  readonly bindMountAllowlist?: readonly string[] | undefined;
  /** Hostnames no image may have: the routers' own (ROUTER_METRICS_URL's hosts). */
  readonly reservedHostnames?: readonly string[] | undefined;
};

/**
 * A tenant may not name an image id or another tenant's build as the image to run (404, so
 * that nobody learns whether it exists); the engine-side checks happen again at every
 * reconcile (reconcilers/image/resolve-image.ts).
 */
function refuseForbiddenReference(
  reference: string | null | undefined,
  userId: number,
  settings: WriteSettings,
): void {
  if (reference === null || reference === undefined) return;
  const owner = { userId, isAdmin: userId === settings.adminUserId };
  const policy = referencePolicy(reference, owner, settings);
  if (policy.kind !== "deny") return;
  throw new DesiredStateError(policy.code, policy.message, {
    errors: [{ path: "image", message: policy.message }],
  });
}

/** One change of an image's desired state, decided by the caller. */
export type ImageChange = DesiredWrite & {
  /** Why: the reason an `image.scaled` event gives. */
  readonly reason: string;
  /** What the audit log calls it: `image.update`, `instance.stop`, `build.rebuild`, … */
  readonly action: string;
  readonly actor: Actor;
  /** Changes beside the image's own columns (an instance's desired state), for the audit log. */
  readonly audit?: {
    readonly old: Readonly<Record<string, unknown>>;
    readonly new: Readonly<Record<string, unknown>>;
  };
  /** Optimistic concurrency: the resource_version the client last saw, when it sent one. */
  readonly expectedResourceVersion?: number | undefined;
  /** The caller checked depends_on across a whole set already (an apply). */
  readonly dependenciesChecked?: boolean;
  /**
   * A rollback (desired/write-rollback.ts): the spec of an earlier revision, run from that
   * revision's image (never built again), recorded as a new revision whatever it changes, with
   * `cause` ("rollback to revision n…").
   */
  readonly rollback?: {
    readonly revision: number;
    readonly dockerImageId: string | null;
    readonly cause: string;
  };
  /**
   * A spec accepted when it was first written, written again by the controller (an automatic
   * rollback): no reference, option, secret, dependency, autoscale-ownership or quota check runs
   * again.
   */
  readonly trusted?: boolean;
  /** Written by the autoscaler: what it measured, for the `image.scaled` event. */
  readonly autoscaler?: {
    readonly metric: string;
    readonly value: number | null;
    readonly target: number;
  };
};

/** The image columns the audit log shows when they change. */
const auditedColumns = [
  "source_type",
  "image_reference",
  "tag",
  "status",
  "app_hostname",
  "container_port",
  "min_instances",
  "max_instances",
  "desired_instances",
  "cpu_limit",
  "memory_limit",
  "env",
  "health_check",
  "container_options",
  "source_digest",
  "generation",
  "delete_volumes",
] as const;

/**
 * Refuses a write that makes the user ask for more than a quota allows. Called last in a write,
 * in its transaction: the per-user lock serialises every growing write of one user until commit,
 * so the usage measured after taking it (in the next statement) includes every write that
 * committed before, and two writes can never overshoot together; being last, it is held only
 * for that read and the commit. Refusing throws, and the transaction undoes the write.
 */
async function enforceQuota(
  tx: Repositories,
  userId: number,
  before: ImageRecord | undefined,
  after: ImageRecord,
  settings: WriteSettings,
): Promise<void> {
  const delta = subtractUsage(usageOfImage(after), usageOfImage(before));
  if (!growsUsage(delta)) return;
  if (settings.quota === undefined) {
    throw new Error("a desired-state write that asks for more needs the quota settings");
  }
  const { user, usage } = await tx.images.usageAfterQuotaLock(userId);
  const limits = limitsOf(settings.quota, userId, user === undefined ? {} : overridesOf(user));
  const refusal = quotaExceeded(usage, delta, limits);
  if (refusal === undefined) return;
  throw new DesiredStateError(
    "quota_exceeded",
    `this would make ${describeAmount(refusal.key, refusal.requested)} of ${refusal.limit}; the quota is ${describeAmount(refusal.key, refusal.max)} (in use: ${describeAmount(refusal.key, refusal.used)})`,
    {
      extensions: {
        limit: refusal.limit,
        used: presentAmount(refusal.key, refusal.used),
        requested: presentAmount(refusal.key, refusal.requested),
        max: presentAmount(refusal.key, refusal.max),
      },
    },
  );
}

/** Amounts as clients write them: cores, bytes, counts. */
function presentAmount(key: "images" | "instances" | "nanoCpus" | "memoryBytes", value: number) {
  return key === "nanoCpus" ? value / 1_000_000_000 : value;
}

function describeAmount(key: "images" | "instances" | "nanoCpus" | "memoryBytes", value: number) {
  if (key === "nanoCpus") return `${value / 1_000_000_000} CPUs`;
  if (key === "memoryBytes") return `${value} bytes`;
  return String(value);
}

/**
 * Whether a write changes what an uploaded source is built from (`build` args, target,
 * platform): then its image must be built again, whatever asked (PATCH, apply). A write that
 * requests a build itself (a new source, a rebuild) already does.
 */
function changesWhatIsBuilt(image: ImageRecord, change: ImageChange): boolean {
  const wanted = change.columns?.container_options?.build;
  if (wanted === undefined || change.requestBuild !== undefined) return false;
  if (image.source_type !== "upload" || image.source_path === null) return false;
  if (image.status === "deleting") return false;
  const before = withOptionDefaults(image.container_options).build;
  return buildSettingsHash(wanted) !== buildSettingsHash(before);
}

/**
 * The columns of a write whose values differ from the row's: only those are sent (a PATCH of
 * the desired count carries the whole spec; parsing and storing the rest again is wasted).
 */
function changedColumns(
  image: ImageRecord,
  columns: ImageChange["columns"],
): NonNullable<ImageChange["columns"]> {
  return Object.fromEntries(
    Object.entries(columns ?? {}).filter(
      ([name, value]) =>
        value !== undefined && !sameCanonicalJson(value, image[name as keyof ImageRecord]),
    ),
  );
}

function visible(scope: Scope, image: ImageRecord | undefined): image is ImageRecord {
  return image !== undefined && (scope.userId === undefined || image.user_id === scope.userId);
}

/**
 * The image row, locked for the rest of the transaction, when the caller may see it; else 404.
 * A tenant's id is looked up among its own images only, so that asking for another tenant's
 * neither locks that row nor waits for it.
 */
export async function lockVisibleImage(
  tx: Repositories,
  scope: Scope,
  imageId: number,
): Promise<ImageRecord> {
  const image = await tx.images.findForUpdate(imageId, scope.userId);
  if (!visible(scope, image))
    throw new DesiredStateError("not_found", `image ${imageId} not found`);
  return image;
}

/** The image when the caller may see it (no lock); else 404. */
export async function findVisibleImage(
  images: Pick<ImagesRepository, "find">,
  scope: Scope,
  imageId: number,
): Promise<ImageRecord> {
  const image = await images.find(imageId);
  if (!visible(scope, image))
    throw new DesiredStateError("not_found", `image ${imageId} not found`);
  return image;
}

/**
 * While an image has `autoscale`, the autoscaler alone moves its desired count: any other write
 * that changes it (PATCH, apply, scale, adding or removing an instance) is refused with 409
 * `autoscaler_owns_desired_instances`, unless the same write turns autoscale off. A change of
 * the bounds may carry the count into them (that is what the autoscaler would do next).
 */
export function refuseManualScale(image: ImageRecord, change: ImageChange): void {
  if (change.autoscaler !== undefined || change.markDeleting === true) return;
  const columns = change.columns ?? {};
  const before = withOptionDefaults(image.container_options).autoscale;
  const options = columns.container_options;
  const after =
    options === undefined || !("autoscale" in options) ? before : (options.autoscale ?? null);
  if (before === null || after === null) return;
  const desired = columns.desired_instances ?? image.desired_instances;
  const min = columns.min_instances ?? image.min_instances;
  const max = columns.max_instances ?? image.max_instances;
  if (desired === Math.min(Math.max(image.desired_instances, min), max)) return;
  throw new DesiredStateError(
    "autoscaler_owns_desired_instances",
    `image ${image.name} (${image.id}) is autoscaled (autoscale.metric ${before.metric}): the autoscaler sets desired_instances (now ${image.desired_instances}); change min_instances or max_instances, or remove autoscale in the same write`,
    {
      errors: [{ path: "desired_instances", message: "set by the autoscaler" }],
      extensions: {
        owner: "autoscaler",
        desired_instances: image.desired_instances,
        min_instances: image.min_instances,
        max_instances: image.max_instances,
      },
    },
  );
}

export function refuseWhenDeleting(image: ImageRecord): void {
  if (image.status === "deleting")
    throw new DesiredStateError("conflict", `image ${image.id} is being deleted`);
}

/** Optimistic concurrency: a client that read an older resource_version must read again. */
export function refuseStaleVersion(image: ImageRecord, expected: number | undefined): void {
  if (expected === undefined || expected === image.resource_version) return;
  throw new DesiredStateError(
    "stale_resource_version",
    `image ${image.name} (${image.id}) is at resource_version ${image.resource_version}, not ${expected}: read it again and retry`,
    { extensions: { resource_version: image.resource_version } },
  );
}

/**
 * The refusals of a change that are the user's (the reference, options and secrets it names,
 * depends_on, who owns the desired count): not run again for a `trusted` change.
 */
async function refuseUnacceptable(
  tx: Repositories,
  image: ImageRecord,
  change: ImageChange,
  settings: WriteSettings,
): Promise<void> {
  refuseManualScale(image, change);
  refuseForbiddenReference(change.columns?.image_reference, image.user_id, settings);
  await refuseForbiddenOptions(
    tx,
    change.columns?.container_options,
    { id: image.id, userId: image.user_id },
    settings,
  );
  await refuseUnknownSecrets(tx, image.user_id, change.columns ?? {});
  const hostname = change.columns?.app_hostname;
  if (hostname !== undefined && hostname !== image.app_hostname) {
    await refuseTakenHostname(tx, image.user_id, hostname, settings.reservedHostnames ?? []);
  }
  if (change.dependenciesChecked !== true) {
    const dependsOn = change.columns?.container_options?.depends_on;
    const before = withOptionDefaults(image.container_options).depends_on;
    if (dependsOn !== undefined && dependsOn.length > 0 && !sameCanonicalJson(dependsOn, before)) {
      await refuseBadDependencies(tx, image.user_id, { name: image.name, depends_on: dependsOn });
    }
    if (change.markDeleting === true) await refuseDeletingDependency(tx, image);
  }
}

/**
 * The one way an existing image's desired state is written (PATCH, instances added, started,
 * stopped or removed, DELETE, apply, uploads, rebuilds, rollbacks). The caller holds the row lock and
 * passes what it read; this checks the resource_version, writes the change (bumping
 * `resource_version`, and `generation` when the spec changed; the same statement NOTIFYs the
 * controller), appends `image.scaled` when the desired count moved, and checks the quota, all
 * in the caller's transaction.
 */
export async function commitImageChange(
  tx: Repositories,
  image: ImageRecord,
  change: ImageChange,
  settings: WriteSettings,
): Promise<ImageRecord> {
  refuseStaleVersion(image, change.expectedResourceVersion);
  if (change.trusted !== true) await refuseUnacceptable(tx, image, change, settings);
  const rebuild = change.rollback === undefined && changesWhatIsBuilt(image, change);
  // A new build is wanted, as a rebuild asks for one (builds/build-records.ts requestBuild).
  if (rebuild) await tx.builds.want(image.id, "options_changed");
  const { image: updated, hasRevision } = await tx.images.writeDesiredState(image.id, {
    ...change,
    columns: changedColumns(image, change.columns),
    ...(rebuild ? { requestBuild: {} } : {}),
  });
  await recordRevision(tx, image, updated, {
    hasRevision,
    actor: change.actor,
    cause: change.rollback?.cause ?? change.action,
    userBuild:
      rebuild ||
      change.rollback !== undefined ||
      (change.requestBuild !== undefined && change.bumpGeneration),
    dockerImageId: change.rollback?.dockerImageId ?? null,
  });
  const diff = changedFields(image, updated, auditedColumns);
  const audit = {
    actor: change.actor,
    entries: [
      {
        action: change.action,
        userId: image.user_id,
        imageId: image.id,
        target: `images/${image.id}`,
        old: { ...diff.old, ...change.audit?.old },
        new: { ...diff.new, ...change.audit?.new },
      },
    ],
  };
  // The audit record and the event go in one statement (events.append writes both).
  await tx.events.append(
    updated.desired_instances === image.desired_instances
      ? []
      : [
          imageEvent(
            "image.scaled",
            updated,
            runnableReference(updated, settings.builtImagePrefix),
            change.reason,
            {
              desired_instances: updated.desired_instances,
              previous_desired_instances: image.desired_instances,
              ...(change.autoscaler === undefined
                ? {}
                : {
                    ...change.autoscaler,
                    from: image.desired_instances,
                    to: updated.desired_instances,
                  }),
            },
          ),
        ],
    audit,
  );
  // Last: the per-user quota lock is then held only for its check and the commit.
  if (change.trusted !== true) await enforceQuota(tx, image.user_id, image, updated, settings);
  return updated;
}

export type CreateImageInput = NewImage & {
  readonly source_type: "reference" | "upload";
  readonly apply_set?: string | null;
};

/**
 * The one way an image is created: a name the user already has is refused with 409
 * `name_taken`, also when two creates of one name race (the unique constraint decides), and the
 * controller is told, in the caller's transaction.
 */
export async function createImage(
  tx: Repositories,
  request: {
    readonly userId: number;
    readonly input: CreateImageInput;
    readonly status: ImageStatus;
    readonly actor: Actor;
    /** The caller checked depends_on across a whole set already (an apply). */
    readonly dependenciesChecked?: boolean;
  },
  settings: WriteSettings,
): Promise<ImageRecord> {
  const { userId, input, status } = request;
  if (input.source_type === "reference") refuseForbiddenReference(input.image, userId, settings);
  await refuseForbiddenOptions(tx, input, { id: undefined, userId }, settings);
  await refuseUnknownSecrets(tx, userId, {
    env: input.env,
    container_options: { secrets: input.secrets },
  });
  await refuseTakenHostname(tx, userId, input.app_hostname, settings.reservedHostnames ?? []);
  if (request.dependenciesChecked !== true && input.depends_on.length > 0) {
    await refuseBadDependencies(tx, userId, input);
  }
  const existing = await tx.images.findByName(userId, input.name);
  if (existing !== undefined) {
    throw new DesiredStateError(
      "name_taken",
      `an image named ${input.name} already exists (id ${existing.id})`,
      { extensions: { image_id: existing.id } },
    );
  }
  let image: ImageRecord;
  try {
    image = await tx.images.insert({
      user_id: userId,
      name: input.name,
      source_type: input.source_type,
      image_reference: input.source_type === "reference" ? (input.image ?? null) : null,
      status,
      ...specColumns(input),
      apply_set: input.apply_set ?? null,
    });
  } catch (error) {
    if (error instanceof ImageNameTakenError) {
      throw new DesiredStateError("name_taken", `an image named ${input.name} already exists`);
    }
    throw error;
  }
  await recordRevision(tx, undefined, image, {
    actor: request.actor,
    cause: "image.create",
    userBuild: false,
  });
  const created = changedFields({}, image, auditedColumns);
  await tx.audit.append(request.actor, [
    {
      action: "image.create",
      userId,
      imageId: image.id,
      target: `images/${image.id}`,
      old: null,
      new: { name: image.name, ...created.new },
    },
  ]);
  await tx.images.notifyChanged(image.id);
  // Last, as in commitImageChange: the per-user quota lock is held for its check and the commit.
  await enforceQuota(tx, userId, undefined, image, settings);
  return image;
}
