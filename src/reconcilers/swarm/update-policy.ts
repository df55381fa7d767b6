import type { UpdatePolicy } from "../../docker/swarm.ts";
import { type Rollout, resolveRollout } from "../../domain/rollout.ts";

/**
 * The image's `rollout` as Swarm's UpdateConfig, resolved against the service's replicas the
 * way the container runtime resolves it (`resolveRollout`: percentages round up, surge capped
 * by max_instances, the fencepost rule). `max_unavailable` 0: start-first, `max_surge` new tasks
 * at a time above the replicas; otherwise stop-first, `max_unavailable` tasks at a time. A new
 * task counts once it has run `min_ready` (Monitor). A failed task pauses the update: Swarm's
 * own rollback is not used, the controller owns revisions and rollbacks. Pure.
 */
export function updatePolicy(
  rollout: Rollout | null | undefined,
  replicas: number,
  maxInstances: number,
): UpdatePolicy {
  const bounds = resolveRollout(rollout, replicas, maxInstances);
  return {
    // Never 0: Swarm reads 0 as "every task at once".
    parallelism: Math.max(1, bounds.startFirst ? bounds.maxSurge : bounds.maxUnavailable),
    order: bounds.startFirst ? "start-first" : "stop-first",
    monitorMs: bounds.minReadyMs,
    failureAction: "pause",
    maxFailureRatio: 0,
  };
}

/** Whether the service's UpdateConfig is the policy (a change of `rollout` alone updates it). */
export function sameUpdatePolicy(current: UpdatePolicy | null, desired: UpdatePolicy): boolean {
  return (
    current !== null &&
    current.parallelism === desired.parallelism &&
    current.order === desired.order &&
    current.monitorMs === desired.monitorMs &&
    current.failureAction === desired.failureAction &&
    current.maxFailureRatio === desired.maxFailureRatio
  );
}
