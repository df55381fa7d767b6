import type { RolloutRecord, RolloutWrite } from "../../store/rollouts-repository.ts";

/** What one pass saw of the newest revision's rollout. */
export type RolloutObservation = {
  /** The image's newest revision (undefined: none yet, nothing to track). */
  readonly currentRevision: number | undefined;
  /** The image is Ready: every instance runs the current spec and is ready. */
  readonly ready: boolean;
  /** Instances of the current spec that are ready (serving). */
  readonly readyNew: number;
  /** Instances of the current spec that crash-loop or fail their health check, with why. */
  readonly failingNew: number;
  readonly failure: string;
  /** The rollout is paused: its deadline does not run. */
  readonly paused: boolean;
  readonly progressDeadlineMs: number;
  readonly now: Date;
};

export type RolloutEventType =
  | "image.rollout_started"
  | "image.rollout_completed"
  | "image.rollout_failed"
  | "image.rolled_back";

export type RolloutEvent = {
  readonly type: RolloutEventType;
  readonly fromRevision: number | null;
  readonly toRevision: number;
  readonly reason: string;
  readonly message: string;
};

export type RolloutDecision = {
  /** The row to write (undefined: unchanged). */
  readonly next?: RolloutWrite;
  readonly events: readonly RolloutEvent[];
  /**
   * Roll back: write revision `toRevision`'s spec again as a new revision (its number fills in
   * the `image.rolled_back` event and the row's to_revision).
   */
  readonly rollback?: { readonly toRevision: number; readonly failedRevision: number };
};

const nothing: RolloutDecision = { events: [] };

/**
 * Where the rollout stands after a pass, and what changes. Pure. A new revision starts a
 * rollout from the last fully Ready one; it completes once the image is Ready; it fails when no
 * new instance became ready for `progress_deadline`, or when a new instance crash-loops or fails
 * its health check (Swarm's failure ratio 0), and then a user's revision rolls back to the last
 * Ready one. A rollback that fails stays failed: it is never rolled back itself.
 */
export function decideRollout(
  row: RolloutRecord | undefined,
  seen: RolloutObservation,
): RolloutDecision {
  const { currentRevision: current, now } = seen;
  if (current === undefined) return nothing;
  const fresh = (fromRevision: number | null, stable: number | null): RolloutWrite => ({
    stable_revision: stable,
    from_revision: fromRevision,
    to_revision: current,
    state: "progressing",
    rollback: false,
    started_at: now,
    progressed_at: now,
    ready_new: 0,
    finished_at: null,
    message: "",
  });

  if (row === undefined || row.to_revision !== current) {
    // A new revision (or the first one this controller sees) starts a rollout from the last
    // fully Ready revision. The first of an image is no rollout of anything: no event.
    const stable = row === undefined ? null : row.stable_revision;
    if (seen.ready) {
      return {
        next: { ...fresh(stable, current), state: "complete", finished_at: now },
        events:
          stable === null || stable === current
            ? []
            : [
                event("image.rollout_started", stable, current, "new_revision", ""),
                event("image.rollout_completed", stable, current, "complete", ""),
              ],
      };
    }
    return {
      next: fresh(stable, stable),
      events:
        stable === null
          ? []
          : [event("image.rollout_started", stable, current, "new_revision", "")],
    };
  }
  // A failed rollout that was not rolled back (an image's first, an upload's, a rollback) ends
  // for good only when another revision comes; if its instances recover, it completes then.
  if (row.state === "complete" || (row.state === "failed" && !seen.ready)) return nothing;
  const from = row.from_revision;

  if (seen.ready) {
    return {
      next: {
        ...row,
        stable_revision: current,
        state: "complete",
        ready_new: seen.readyNew,
        finished_at: now,
        // A rollback keeps saying what it restored and why, once done too.
        message: row.rollback ? row.message : "",
      },
      events:
        from === null
          ? []
          : [
              event(
                "image.rollout_completed",
                from,
                current,
                row.rollback ? "rolled_back" : "complete",
                "",
              ),
            ],
    };
  }

  const stalledMs = now.getTime() - row.progressed_at.getTime();
  const failure =
    seen.failingNew > 0
      ? seen.failure
      : !seen.paused && stalledMs > seen.progressDeadlineMs
        ? `no progress for ${Math.round(stalledMs / 1000)}s (progress_deadline)`
        : undefined;
  if (failure === undefined) {
    // Progress (or a pause) moves the deadline on.
    if (seen.readyNew > row.ready_new || (seen.paused && stalledMs > 1_000)) {
      return { next: { ...row, progressed_at: now, ready_new: seen.readyNew }, events: [] };
    }
    return nothing;
  }
  const failed: RolloutWrite = {
    ...row,
    state: "failed",
    ready_new: seen.readyNew,
    finished_at: now,
    message: failure,
  };
  const failedEvent = event("image.rollout_failed", from, current, "failed", failure);
  const stable = row.stable_revision;
  if (row.rollback || stable === null || stable === current) {
    return { next: failed, events: from === null ? [] : [failedEvent] };
  }
  return {
    next: failed,
    events: [failedEvent],
    rollback: { toRevision: stable, failedRevision: current },
  };
}

function event(
  type: RolloutEventType,
  fromRevision: number | null,
  toRevision: number,
  reason: string,
  message: string,
): RolloutEvent {
  return { type, fromRevision, toRevision, reason, message };
}

/** The row once the rollback's revision is written: a rollout of that revision, from the failed one. */
export function rollbackRow(
  failed: RolloutWrite,
  revision: number,
  failedRevision: number,
  now: Date,
): RolloutWrite {
  return {
    stable_revision: failed.stable_revision,
    from_revision: failedRevision,
    to_revision: revision,
    state: "progressing",
    rollback: true,
    started_at: now,
    progressed_at: now,
    ready_new: 0,
    finished_at: null,
    // Said now: once the rollback is done, the stable revision is the rollback's own.
    message: `${failed.stable_revision === null ? "" : `which runs revision ${failed.stable_revision} again, `}as revision ${failedRevision} failed: ${failed.message}`,
  };
}

type ProgressingCondition = {
  readonly type: "Progressing";
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
};

/**
 * The Progressing condition as the rollout tells it, in place of the generic one (Reconciling
 * while instances move, Converged once Ready); other reasons (Building, waiting) stay. A
 * rollout in progress on a paused image says so, as Kubernetes' DeploymentPaused does: status
 * Unknown, reason RolloutPaused (no step starts until it is resumed; heals go on).
 */
export function rolloutProgressing(
  row: RolloutWrite | undefined,
  generic: ProgressingCondition,
  paused = false,
): ProgressingCondition {
  if (row === undefined || (generic.reason !== "Reconciling" && generic.reason !== "Converged"))
    return generic;
  const to = `revision ${row.to_revision}`;
  const from = row.from_revision === null ? "" : ` (from revision ${row.from_revision})`;
  if (row.state === "failed") {
    return {
      type: "Progressing",
      status: "False",
      reason: "RolloutFailed",
      message: `${to}${from} failed: ${row.message}`,
    };
  }
  if (row.rollback) {
    return {
      type: "Progressing",
      status: row.state === "progressing" ? "True" : "False",
      reason: "RolledBack",
      message: `rolled back to ${to}, ${row.message}`,
    };
  }
  if (row.state === "progressing" && paused) {
    return {
      type: "Progressing",
      status: "Unknown",
      reason: "RolloutPaused",
      message: `${to}${from} is paused: ${generic.message}`,
    };
  }
  if (row.state === "progressing") {
    return {
      type: "Progressing",
      status: "True",
      reason: "RolloutInProgress",
      message: `${to}${from}: ${generic.message}`,
    };
  }
  return generic.reason === "Converged"
    ? {
        type: "Progressing",
        status: "False",
        reason: "RolloutComplete",
        message: `${to}: ${generic.message}`,
      }
    : generic;
}
