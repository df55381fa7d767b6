import type { ContainerSnapshot } from "../../docker/runtime.ts";
import type { RestartPolicy } from "../../domain/container-options.ts";
import { crashBackoff, restartDelayMs } from "../../domain/crash-backoff.ts";
import type { ContainerTransition } from "../../domain/events.ts";
import { labelKeys } from "../../domain/labels.ts";
import { canonicalJson } from "../../domain/spec-hash.ts";
import type { InstanceRecord, ObservedPatch } from "./model.ts";

export type ObserveContext = {
  readonly now: Date;
  readonly containerPort: number;
  /** Why the controller itself just changed this container; undefined when it only looked. */
  readonly reason?: string | undefined;
  /** The controller is stopping or removing this container on purpose (not a failure). */
  readonly expectedStop?: boolean | undefined;
  /** What an exit means (the controller restarts containers itself); `always` when left out. */
  readonly restartPolicy?: RestartPolicy | undefined;
};

export type Observation = {
  readonly patch: ObservedPatch;
  readonly events: readonly ContainerTransition[];
};

const noChange: Observation = { patch: {}, events: [] };

/**
 * Compares what the record says about an instance with the container seen in Docker and
 * returns the record's new observed columns and the events those transitions mean. Pure: the
 * same function serves the controller's own actions and changes made behind its back, so every
 * transition is recorded exactly once, in the same transaction as its status.
 */
export function observeInstance(
  record: InstanceRecord,
  container: ContainerSnapshot | undefined,
  context: ObserveContext,
): Observation {
  const { now } = context;
  const expectedStop =
    context.expectedStop === true ||
    record.deletion_requested_at !== null ||
    record.desired_state === "stopped";
  const patch: ObservedPatch = {};
  const events: ContainerTransition[] = [];

  if (container === undefined) {
    if (record.container_id === null) return noChange;
    const reason = context.reason ?? (expectedStop ? stopReason(record) : "removed_externally");
    // A running container removed behind our back may have been seen half-removed first
    // ("removing"): it still ran until then, and its stop is news.
    const wasRunning =
      record.observed_state === "running" ||
      (record.observed_state === "removing" &&
        record.started_at !== null &&
        record.stopped_at === null);
    if (wasRunning) {
      events.push({ type: "container.stopped", reason });
      patch.stopped_at = now;
    }
    events.push({ type: "container.removed", reason });
    patch.container_id = null;
    patch.host_port = null;
    patch.host_ports = {};
    patch.spec_hash = null;
    patch.observed_state = record.deletion_requested_at !== null ? "removing" : "pending";
    return { patch, events };
  }

  let previousState = record.observed_state;
  if (record.container_id !== container.id) {
    if (record.container_id !== null) {
      events.push({ type: "container.removed", reason: context.reason ?? "replaced_externally" });
    }
    events.push({ type: "container.created", reason: context.reason ?? "adopted" });
    patch.container_id = container.id;
    patch.spec_hash = container.labels[labelKeys.specHash] ?? null;
    patch.started_at = null;
    patch.stopped_at = null;
    patch.host_port = null;
    // A new container has not been probed yet.
    patch.health = "unknown";
    patch.probe_failures = 0;
    previousState = "pending";
  }

  const hostPort = container.ports[`${context.containerPort}/tcp`] ?? null;
  switch (container.state) {
    case "running":
    case "restarting":
    case "paused": {
      if (previousState !== "running") {
        events.push({ type: "container.started", reason: context.reason ?? "observed" });
        patch.observed_state = "running";
        patch.started_at = container.details?.startedAt ?? now;
        patch.stopped_at = null;
        patch.next_restart_at = null;
        patch.last_error = null;
      }
      if (hostPort !== record.host_port || patch.host_port === null) patch.host_port = hostPort;
      patch.host_ports = { ...container.ports };
      const startedAt = patch.started_at ?? record.started_at;
      if (
        record.consecutive_failures > 0 &&
        startedAt !== null &&
        now.getTime() - startedAt.getTime() >= crashBackoff.resetAfterMs
      ) {
        patch.consecutive_failures = 0;
      }
      break;
    }
    case "created":
      if (previousState !== "creating") patch.observed_state = "creating";
      break;
    case "removing":
      if (previousState !== "removing") patch.observed_state = "removing";
      break;
    case "exited":
    case "dead": {
      const details = container.details;
      // A run that ended after the last one on record (restarted, then died before anyone saw
      // it running) is news even when the record already says the container is down.
      const newRun =
        details?.finishedAt != null &&
        (record.stopped_at === null || details.finishedAt.getTime() > record.stopped_at.getTime());
      const alreadyDown =
        previousState === "exited" || previousState === "crash_loop" || previousState === "stopped";
      if (alreadyDown && !newRun) break;
      if (alreadyDown) previousState = "pending";
      const startedAt = details?.startedAt ?? null;
      const finishedAt = details?.finishedAt ?? now;
      const exitCode = details?.exitCode ?? null;
      const oomKilled = details?.oomKilled ?? false;
      if (previousState !== "running" && startedAt !== null) {
        // It started and died before we looked: both halves go on the record.
        events.push({ type: "container.started", reason: context.reason ?? "observed" });
        patch.started_at = startedAt;
      }
      patch.stopped_at = finishedAt;
      patch.last_exit_code = exitCode;
      patch.oom_killed = oomKilled;
      if (expectedStop) {
        patch.observed_state = "stopped";
        events.push({
          type: "container.stopped",
          reason: context.reason ?? stopReason(record),
          exitCode,
        });
        break;
      }
      const ranMs = startedAt === null ? 0 : finishedAt.getTime() - startedAt.getTime();
      const failures = ranMs >= crashBackoff.resetAfterMs ? 1 : record.consecutive_failures + 1;
      const error = oomKilled
        ? "killed: out of memory (memory limit reached)"
        : details?.error
          ? details.error
          : `exited with code ${exitCode ?? "unknown"}`;
      const succeeded = exitCode === 0 && !oomKilled;
      const policy = context.restartPolicy ?? { name: "always" };
      if (policy.name !== "always" && (succeeded || policy.name === "never")) {
        // Done (on-failure: exit 0 completes; never: any exit ends it). Not restarted.
        patch.observed_state = "exited";
        patch.next_restart_at = null;
        patch.last_error = succeeded ? null : error;
        events.push(
          succeeded
            ? { type: "container.stopped", reason: "completed", exitCode }
            : { type: "container.failed", reason: "crashed", exitCode, error },
        );
        break;
      }
      const retries = policy.name === "on-failure" ? policy.max_retries : undefined;
      if (retries !== undefined && failures > retries) {
        // on-failure ran out of retries: it stays down, and says why.
        patch.consecutive_failures = failures;
        patch.observed_state = "exited";
        patch.next_restart_at = null;
        patch.last_error = `${error} (gave up after ${retries} ${retries === 1 ? "restart" : "restarts"})`;
        events.push({ type: "container.failed", reason: "gave_up", exitCode, error });
        break;
      }
      patch.consecutive_failures = failures;
      patch.next_restart_at = new Date(finishedAt.getTime() + restartDelayMs(failures));
      patch.observed_state = failures >= 2 ? "crash_loop" : "exited";
      patch.last_error = error;
      if (succeeded) {
        events.push({ type: "container.stopped", reason: "exited", exitCode });
      } else {
        events.push({
          type: "container.failed",
          reason: oomKilled ? "oom_killed" : "crashed",
          exitCode,
          error,
        });
      }
      break;
    }
  }
  return { patch: withoutUnchanged(record, patch), events };
}

function stopReason(record: InstanceRecord): string {
  if (record.deletion_requested_at !== null) return record.deletion_reason ?? "deleted";
  if (record.desired_state === "stopped") return "stop";
  return "stopped";
}

function withoutUnchanged(record: InstanceRecord, patch: ObservedPatch): ObservedPatch {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const current = record[key as keyof InstanceRecord];
    const same =
      value instanceof Date && current instanceof Date
        ? value.getTime() === current.getTime()
        : typeof value === "object" && value !== null
          ? canonicalJson(value) === canonicalJson(current)
          : value === current;
    if (!same) changed[key] = value;
  }
  return changed as ObservedPatch;
}
