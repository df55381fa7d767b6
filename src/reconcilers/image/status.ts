import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import { type DependencyCheck, noDependencies } from "../../domain/dependencies.ts";
import { labelKeys } from "../../domain/labels.ts";
import { isClaimed, poolTarget } from "../../domain/pool.ts";
import { minReadyMsOf } from "../../domain/rollout.ts";
import type { Condition } from "../../store/schema.ts";
import { isUp } from "./assign.ts";
import { hasCompleted } from "./finished.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import type { SecretsResolution } from "./ports.ts";

/** Whether the image can run now, and if not, why (for the Degraded/Progressing conditions). */
export type Runnability =
  | {
      readonly ok: true;
      readonly reference: string;
      readonly dockerImageId: string;
      /** The image's secrets, when it names any (ports.ts, SecretsResolution). */
      readonly secrets?: Extract<SecretsResolution, { ok: true }> | undefined;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly message: string;
      readonly degraded: boolean;
    };

export type StatusInput = {
  readonly image: ImageRecord;
  readonly records: readonly InstanceRecord[];
  readonly containerOf: (record: InstanceRecord) => ContainerSnapshot | undefined;
  readonly runnability: Runnability;
  readonly desiredHash: string | undefined;
  readonly now: Date;
  /** How long an instance must have been running to count (default: the rollout's min_ready). */
  readonly minReadyMs?: number;
  /** Where its depends_on stands (met when left out). */
  readonly dependencies?: DependencyCheck;
  /**
   * RUNTIME=swarm: why each task Swarm wants running waits for a node its placement allows (an
   * instance may still show the old task a start-first update keeps running meanwhile).
   */
  readonly unschedulable?: readonly string[];
};

/** Default minimum run time before an instance counts as ready: a crash at start is not "ready". */
export const defaultMinReadyMs = 3_000;

/**
 * When the youngest running instance will have run long enough to count, if one has not yet:
 * the controller looks again then, so that Ready turns true without another event.
 */
export function msUntilReady(
  records: readonly InstanceRecord[],
  now: Date,
  minReadyMs = defaultMinReadyMs,
): number | undefined {
  let wait: number | undefined;
  for (const record of records) {
    if (record.observed_state !== "running" || record.started_at === null) continue;
    const remaining = record.started_at.getTime() + minReadyMs - now.getTime();
    if (remaining > 0) wait = Math.min(wait ?? Number.POSITIVE_INFINITY, remaining);
  }
  return wait;
}

type ConditionValue = Omit<Condition, "last_transition_time">;

/**
 * Ready, Progressing and Degraded, Kubernetes-style. Ready: every instance that should run
 * runs the current spec. Progressing: the controller is still working towards that. Degraded:
 * something needs a human (image missing, build failed, crash loop, create errors).
 */
export function imageConditions(input: StatusInput): Condition[] {
  const { image, records, containerOf, runnability, desiredHash } = input;
  const dependencies = input.dependencies ?? noDependencies;
  const live = records.filter((record) => record.deletion_requested_at === null);
  const shouldRun = live.filter((record) => record.desired_state === "running");
  const probed = image.health_check !== null;
  const minReadyMs =
    input.minReadyMs ?? minReadyMsOf(withOptionDefaults(image.container_options).rollout);
  const { restart_policy: restartPolicy } = withOptionDefaults(image.container_options);
  const current = shouldRun.filter((record) => {
    const container = containerOf(record);
    if (hasCompleted(record, restartPolicy)) return true; // done, as a job is
    return (
      isUp(container) &&
      record.started_at !== null &&
      input.now.getTime() - record.started_at.getTime() >= minReadyMs &&
      (desiredHash === undefined || container?.labels[labelKeys.specHash] === desiredHash) &&
      // With a health check, an instance counts once it has passed it.
      (!probed || record.health === "healthy")
    );
  });
  const unhealthy = shouldRun.filter((record) => record.health === "unhealthy");
  const crashLooping = shouldRun.filter((record) => record.observed_state === "crash_loop");
  const failing = shouldRun.filter(
    (record) => record.last_error !== null && !isUp(containerOf(record)),
  );
  const { pool } = withOptionDefaults(image.container_options);
  const wanted =
    pool === null ? image.desired_instances : poolTarget(pool, live.filter(isClaimed).length);
  const countsMatch = live.length === wanted && records.length === live.length;
  const ready = runnability.ok && countsMatch && current.length === shouldRun.length;
  const summary = `${current.length}/${shouldRun.length} instances ${probed ? "healthy on" : "running"} the current spec`;

  let degraded: ConditionValue = {
    type: "Degraded",
    status: "False",
    reason: "AsExpected",
    message: "",
  };
  if (!runnability.ok && runnability.degraded) {
    degraded = {
      type: "Degraded",
      status: "True",
      reason: runnability.reason,
      message: runnability.message,
    };
  } else if (dependencies.failed.length > 0) {
    // The cause first: a dependent that cannot reach its dependency may fail on its own too.
    degraded = {
      type: "Degraded",
      status: "True",
      reason: "DependencyFailed",
      message: `dependency_failed: ${dependencies.failed.join("; ")}`,
    };
  } else if (crashLooping.length > 0) {
    const example = crashLooping[0]?.last_error ?? "exited";
    degraded = {
      type: "Degraded",
      status: "True",
      reason: "CrashLoopBackOff",
      message: `${crashLooping.length} of ${shouldRun.length} instances are crash-looping (last: ${example})`,
    };
  } else if (unhealthy.length > 0) {
    const probe = unhealthy[0]?.last_probe;
    degraded = {
      type: "Degraded",
      status: "True",
      reason: "Unhealthy",
      message: `${unhealthy.length} of ${shouldRun.length} instances fail their health check (last: ${
        probe?.error ?? (probe?.status_code === undefined ? "failed" : `HTTP ${probe.status_code}`)
      })`,
    };
  } else if ((input.unschedulable ?? []).length > 0) {
    // RUNTIME=swarm: no node meets the placement (the container runtime says so as runnability).
    const waiting = input.unschedulable ?? [];
    degraded = {
      type: "Degraded",
      status: "True",
      reason: "Unschedulable",
      message: `${waiting.length} of ${shouldRun.length} instances have no node their placement allows (last: ${waiting[0]})`,
    };
  } else if (failing.some((record) => record.last_error?.startsWith("port_in_use") === true)) {
    const taken = failing.filter((record) => record.last_error?.startsWith("port_in_use") === true);
    degraded = {
      type: "Degraded",
      status: "True",
      reason: "PortInUse",
      message: `${taken.length} of ${shouldRun.length} instances cannot start: a host port is taken (last: ${taken[0]?.last_error})`,
    };
  } else if (failing.length > 0) {
    degraded = {
      type: "Degraded",
      status: "True",
      reason: "InstancesFailing",
      message: `${failing.length} of ${shouldRun.length} instances are failing (last: ${failing[0]?.last_error})`,
    };
  }

  const waiting = !ready && runnability.ok && !dependencies.met;
  const waitingMessage = `waiting for ${dependencies.waitingFor.join(", ")}`;
  const progressing: ConditionValue = ready
    ? { type: "Progressing", status: "False", reason: "Converged", message: summary }
    : waiting
      ? {
          type: "Progressing",
          status: "True",
          reason: "WaitingForDependencies",
          message: waitingMessage,
        }
      : !runnability.ok
        ? {
            type: "Progressing",
            status: runnability.degraded ? "False" : "True",
            reason: runnability.reason,
            message: runnability.message,
          }
        : { type: "Progressing", status: "True", reason: "Reconciling", message: summary };

  const readyCondition: ConditionValue = ready
    ? { type: "Ready", status: "True", reason: "InstancesRunning", message: summary }
    : waiting
      ? {
          type: "Ready",
          status: "False",
          reason: "WaitingForDependencies",
          message: waitingMessage,
        }
      : {
          type: "Ready",
          status: "False",
          reason: runnability.ok ? "InstancesNotReady" : runnability.reason,
          message: runnability.ok ? summary : runnability.message,
        };

  return [readyCondition, progressing, degraded].map((condition) => {
    const previous = image.conditions.find((existing) => existing.type === condition.type);
    const unchanged = previous !== undefined && previous.status === condition.status;
    return {
      ...condition,
      last_transition_time: unchanged ? previous.last_transition_time : input.now.toISOString(),
    };
  });
}

/** Whether two condition lists say the same thing (ignoring transition times). */
export function sameConditions(left: readonly Condition[], right: readonly Condition[]): boolean {
  const key = (conditions: readonly Condition[]) =>
    JSON.stringify(
      conditions.map(({ type, status, reason, message }) => [type, status, reason, message]),
    );
  return key(left) === key(right);
}
