import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import { labelKeys } from "../../domain/labels.ts";
import { isClaimed, poolTarget } from "../../domain/pool.ts";
import { resolveRollout } from "../../domain/rollout.ts";
import { assignContainers, isUp } from "./assign.ts";
import { hasFinished } from "./finished.ts";
import { type ImageRecord, type InstanceRecord, isMarkedForDeletion } from "./model.ts";
import { isRolloutPaused } from "./rollout-pause.ts";
import { planRolloutStep } from "./rollout-step.ts";

export type PlanInput = {
  readonly image: ImageRecord;
  readonly records: readonly InstanceRecord[];
  /** Every container of this image carrying our managed-by label. */
  readonly containers: readonly ContainerSnapshot[];
  /** The spec hash new containers get; undefined while the image cannot run (building, pull failed). */
  readonly desiredHash: string | undefined;
  readonly now: Date;
  /**
   * When `containers` were listed: a new instance serves (rollout step) only if it was seen up
   * min_ready after it started, as the status reckons it (reconciler.ts, listedAt). A later
   * clock counted one seen running at the list, and dead a moment later, as serving, and retired
   * an old one for it. Back-off waits still use `now`. Left out: `now`.
   */
  readonly listedAt?: Date;
  /** What depends_on holds back (nothing when left out). */
  readonly waitFor?: DependencyWait;
};

/**
 * `dependencies`: some dependency does not meet its condition yet, so no container is created
 * (no instance added, none recreated or replaced; those that exist keep running and restarting).
 * `dependents`: images that depend on this one are being deleted and still exist, so its own
 * deletion waits (dependents go first).
 */
export type DependencyWait = { readonly dependencies: boolean; readonly dependents: boolean };

export type Action =
  | {
      readonly kind: "removeStray";
      readonly containerId: string;
      readonly reason: "orphan" | "duplicate";
    }
  | { readonly kind: "addInstances"; readonly count: number }
  | {
      readonly kind: "removeInstance";
      readonly instanceId: string;
      readonly containerId: string | null;
      readonly reason: string;
      /** The record must first be marked for deletion (scale-down), so a crash cannot forget it. */
      readonly mark: boolean;
    }
  | {
      readonly kind: "createContainer";
      readonly instanceId: string;
      readonly reason: "scale_up" | "recreate";
    }
  | {
      readonly kind: "replaceContainer";
      readonly instanceId: string;
      readonly containerId: string;
      readonly reason: "spec_changed" | "unhealthy" | "recycle";
    }
  | {
      readonly kind: "startContainer";
      readonly instanceId: string;
      readonly containerId: string;
      readonly reason: "start" | "restart";
    }
  | { readonly kind: "stopContainer"; readonly instanceId: string; readonly containerId: string }
  | {
      /** Asked for through the API: stop (with the grace period) and start the same container. */
      readonly kind: "restartContainer";
      readonly instanceId: string;
      readonly containerId: string;
    }
  | { readonly kind: "finishImageDeletion" };

export type Plan = {
  readonly actions: readonly Action[];
  /** When a crash-looping instance may be restarted next, if one is waiting. */
  readonly requeueAfterMs?: number;
};

/**
 * Scale-down victims, best first: not started, then unhealthy, then newest (ReplicaSet's order:
 * removing what serves no traffic costs nothing).
 */
export function scaleDownOrder(
  records: readonly InstanceRecord[],
  containerOf: (record: InstanceRecord) => ContainerSnapshot | undefined,
): InstanceRecord[] {
  const rank = (record: InstanceRecord) => {
    if (!isUp(containerOf(record))) return 0;
    if (record.health === "unhealthy") return 1;
    return 2;
  };
  return [...records].sort(
    (left, right) =>
      rank(left) - rank(right) ||
      right.created_at.getTime() - left.created_at.getTime() ||
      (left.id < right.id ? 1 : -1),
  );
}

/**
 * What to do to make Docker match the desired state of one image. Pure: it reads a snapshot
 * and returns actions; the reconciler executes them and records what happened.
 */
export function planImage(input: PlanInput): Plan {
  const { image, records, containers, now } = input;
  const waitFor = input.waitFor ?? { dependencies: false, dependents: false };
  // No new container while a dependency is not there yet: as if the image could not run.
  const desiredHash = waitFor.dependencies ? undefined : input.desiredHash;
  const actions: Action[] = [];

  // 1. Containers no record owns (orphans) and second containers of one instance (duplicates).
  const assignment = assignContainers(records, containers);
  for (const orphan of assignment.orphans) {
    actions.push({ kind: "removeStray", containerId: orphan.id, reason: "orphan" });
  }
  for (const duplicate of assignment.duplicates) {
    actions.push({ kind: "removeStray", containerId: duplicate.id, reason: "duplicate" });
  }
  const containerOf = (record: InstanceRecord) => assignment.byInstance.get(record.id);

  // 2. Image being deleted: everything goes, then the image itself.
  if (image.status === "deleting") {
    if (waitFor.dependents) return { actions };
    for (const record of records) {
      actions.push({
        kind: "removeInstance",
        instanceId: record.id,
        containerId: containerOf(record)?.id ?? null,
        reason: "image_deleted",
        mark: false,
      });
    }
    if (records.length === 0 && containers.length === 0)
      actions.push({ kind: "finishImageDeletion" });
    return { actions };
  }

  // 3. Instances marked for deletion (scale-down or DELETE) are removed.
  for (const record of records.filter(isMarkedForDeletion)) {
    actions.push({
      kind: "removeInstance",
      instanceId: record.id,
      containerId: containerOf(record)?.id ?? null,
      reason: record.deletion_reason ?? "deleted",
      mark: false,
    });
  }

  // 4. Scale: exactly desired_instances live records, never more than max_instances. A pool
  //    instead keeps one per claim plus min_idle spare (at most its max), and never scales a
  //    claimed instance down.
  //    During a start-first rollout, up to max_surge more (the new ones not ready yet).
  const options = withOptionDefaults(image.container_options);
  const { restart_policy: restartPolicy, pool } = options;
  let active = records.filter((record) => !isMarkedForDeletion(record));
  const target =
    pool === null
      ? Math.min(image.desired_instances, image.max_instances)
      : poolTarget(pool, active.filter(isClaimed).length);
  const resolved = resolveRollout(options.rollout, target, image.max_instances);
  // A pool's instances are handed out by id: they are always replaced in place.
  const bounds =
    pool === null
      ? resolved
      : { ...resolved, startFirst: false, maxUnavailable: Math.max(1, resolved.maxUnavailable) };
  // While paused, no rollout step starts: outdated containers run (and heal) as they are.
  const paused = isRolloutPaused(image);
  const isOutdated = (record: InstanceRecord) => {
    const container = containerOf(record);
    return (
      !paused &&
      desiredHash !== undefined &&
      container !== undefined &&
      record.desired_state === "running" &&
      record.recycle_requested_at === null &&
      !isClaimed(record) &&
      container.labels[labelKeys.specHash] !== desiredHash
    );
  };
  const surging = bounds.startFirst && active.some(isOutdated);
  const ceiling = target + (surging ? bounds.maxSurge : 0);
  let addedToTarget = false;
  if (active.length < target) {
    if (!waitFor.dependencies) {
      actions.push({ kind: "addInstances", count: target - active.length });
      addedToTarget = true;
    }
  } else if (active.length > ceiling) {
    const candidates = active.filter((record) => !isClaimed(record));
    const victims = scaleDownOrder(candidates, containerOf).slice(0, active.length - ceiling);
    const victimIds = new Set(victims.map((victim) => victim.id));
    for (const victim of victims) {
      actions.push({
        kind: "removeInstance",
        instanceId: victim.id,
        containerId: containerOf(victim)?.id ?? null,
        reason: "scale_down",
        mark: true,
      });
    }
    active = active.filter((record) => !victimIds.has(record.id));
  }

  // 5. Each live instance towards its desired state.
  let waitMs: number | undefined;
  const outdated = new Set<string>();
  for (const record of active) {
    const container = containerOf(record);
    if (record.desired_state === "stopped") {
      if (container !== undefined && isUp(container)) {
        actions.push({ kind: "stopContainer", instanceId: record.id, containerId: container.id });
      }
      continue;
    }
    if (container === undefined) {
      if (desiredHash !== undefined) {
        actions.push({
          kind: "createContainer",
          instanceId: record.id,
          reason:
            record.container_id === null && record.started_at === null ? "scale_up" : "recreate",
        });
      }
      continue;
    }
    if (record.recycle_requested_at !== null && desiredHash !== undefined) {
      // Released from a claim: a fresh container (nothing of the last claimant's stays).
      actions.push({
        kind: "replaceContainer",
        instanceId: record.id,
        containerId: container.id,
        reason: "recycle",
      });
      continue;
    }
    if (desiredHash !== undefined && container.labels[labelKeys.specHash] !== desiredHash) {
      // A claimed instance keeps its container until it is released (and recycled then).
      if (isOutdated(record)) outdated.add(record.id);
      if (!paused) continue;
    }
    if (record.health === "unhealthy" && isUp(container) && desiredHash !== undefined) {
      // Failed its health check `retries` times: replaced, after the same back-off as a crash.
      const replaceAt = record.next_restart_at?.getTime() ?? 0;
      if (replaceAt > now.getTime()) {
        waitMs = Math.min(waitMs ?? Number.POSITIVE_INFINITY, replaceAt - now.getTime());
      } else {
        actions.push({
          kind: "replaceContainer",
          instanceId: record.id,
          containerId: container.id,
          reason: "unhealthy",
        });
      }
      continue;
    }
    if (record.restart_requested_at !== null) {
      actions.push({ kind: "restartContainer", instanceId: record.id, containerId: container.id });
      continue;
    }
    if (
      (container.state === "exited" || container.state === "dead") &&
      hasFinished(record, restartPolicy)
    ) {
      continue; // ended for good under its restart policy
    }
    if (
      container.state === "created" ||
      container.state === "exited" ||
      container.state === "dead"
    ) {
      const restartAt = record.next_restart_at?.getTime() ?? 0;
      if (container.state !== "created" && restartAt > now.getTime()) {
        waitMs = Math.min(waitMs ?? Number.POSITIVE_INFINITY, restartAt - now.getTime());
        continue;
      }
      actions.push({
        kind: "startContainer",
        instanceId: record.id,
        containerId: container.id,
        reason: container.state === "created" ? "start" : "restart",
      });
    }
  }

  // 6. Rolling update of outdated containers (rollout-step.ts): within the surge and
  //    unavailability bounds, counting an instance as serving once it is ready.
  const minReadyMs = bounds.minReadyMs;
  const listedAt = input.listedAt ?? now;
  const probed = image.health_check !== null;
  const isReady = (record: InstanceRecord) => {
    if (!isUp(containerOf(record)) || record.health === "unhealthy") return false;
    // An outdated container serves while it is up (it passed the gates of its own rollout).
    if (outdated.has(record.id)) return true;
    // A new one counts once it has run min_ready, and passed its health check if it has one.
    if (record.started_at === null) return false;
    if (listedAt.getTime() - record.started_at.getTime() < minReadyMs) return false;
    return !probed || record.health === "healthy";
  };
  const members = active
    .filter((record) => record.desired_state === "running" && !isClaimed(record))
    .map((record) => ({
      id: record.id,
      outdated: outdated.has(record.id),
      ready: isReady(record),
    }));
  const step = planRolloutStep({ target, total: active.length, members, bounds });
  for (const instanceId of step.replace) {
    const container = assignment.byInstance.get(instanceId);
    if (container === undefined) continue;
    actions.push({
      kind: "replaceContainer",
      instanceId,
      containerId: container.id,
      reason: "spec_changed",
    });
  }
  if (step.add > 0 && !addedToTarget) actions.push({ kind: "addInstances", count: step.add });
  for (const instanceId of step.retire) {
    actions.push({
      kind: "removeInstance",
      instanceId,
      containerId: assignment.byInstance.get(instanceId)?.id ?? null,
      reason: "spec_changed",
      mark: true,
    });
  }

  return waitMs === undefined
    ? { actions }
    : { actions, requeueAfterMs: Math.max(0, Math.ceil(waitMs)) };
}
