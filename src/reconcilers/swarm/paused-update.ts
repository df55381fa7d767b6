import type { ServiceSnapshot } from "../../docker/swarm.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { RolloutWrite } from "../../store/rollouts-repository.ts";

/**
 * Swarm pauses a service update when a new task fails (FailureAction `pause`): its old tasks
 * keep running, the new spec stays written, and nothing moves until the spec changes again.
 * The image's Progressing condition says so (`RolloutFailed`, naming the revision and Swarm's
 * message), through the rollout the status writer already tells; never stored (the Swarm runtime
 * tracks no rollout) and never rolled back by the controller. Undefined unless the service runs
 * the desired spec (a service this pass rewrote starts a new update). Pure.
 */
export function pausedUpdateRollout(
  service: ServiceSnapshot | undefined,
  desiredHash: string | undefined,
  revision: number,
  now: Date,
): RolloutWrite | undefined {
  if (
    service?.updateStatus?.state !== "paused" ||
    desiredHash === undefined ||
    service.labels[labelKeys.specHash] !== desiredHash
  ) {
    return undefined;
  }
  return {
    stable_revision: null,
    from_revision: null,
    to_revision: revision,
    state: "failed",
    rollback: false,
    started_at: now,
    progressed_at: now,
    ready_new: 0,
    finished_at: now,
    message: `Swarm paused the service update (${service.updateStatus.message || "a new task failed"}); change the spec to go on`,
  };
}
