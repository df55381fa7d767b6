import { firstTakenHostPort } from "../../desired/option-rules.ts";
import { rollbackRefusal } from "../../desired/rollback-target.ts";
import { writeRollback } from "../../desired/write-rollback.ts";
import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { controllerActor } from "../../domain/actor.ts";
import { portMappingsOf, withOptionDefaults } from "../../domain/container-options.ts";
import { imageEvent } from "../../domain/event-builders.ts";
import { labelKeys } from "../../domain/labels.ts";
import { resolveRollout } from "../../domain/rollout.ts";
import type { Logger } from "../../logger.ts";
import type { RolloutWrite } from "../../store/rollouts-repository.ts";
import { assignContainers, isUp } from "./assign.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { isRolloutPaused } from "./rollout-pause.ts";
import { decideRollout, type RolloutEvent, rollbackRow } from "./rollout-progress.ts";

export type RolloutPass = {
  readonly records: readonly InstanceRecord[];
  readonly containers: readonly ContainerSnapshot[];
  readonly desiredHash: string | undefined;
  /** Whether the image is Ready after this pass (status.ts). */
  readonly ready: boolean;
  readonly now: Date;
  /** What events name as the image's containers' reference. */
  readonly reference: string;
};

export type RolloutOutcome = {
  /** The rollout as it stands after this pass (undefined: nothing tracked yet). */
  readonly row: RolloutWrite | undefined;
  /** When to look again (the progress deadline of a rollout under way). */
  readonly requeueAfterMs?: number;
};

/**
 * Follows the rollout of the image's newest revision after a pass (rollout-progress.ts decides)
 * and writes what changed with its events, in one transaction; a failed rollout of a reference
 * image is rolled back there by writing the last Ready revision's spec again.
 */
export async function trackRollout(
  deps: ReconcilerDependencies,
  image: ImageRecord,
  pass: RolloutPass,
  log: Logger,
): Promise<RolloutOutcome> {
  const { store } = deps;
  if (image.status === "deleting") return { row: undefined };
  const { rollout: row, newest: latest } = await store.rollouts.findWithNewestRevision(image.id);
  // A revision written after this pass read the image (a spec change landing while it ran) is
  // not what its containers were made for: judged by them, it would be complete before any
  // container ran it. The next pass, which reads it, tracks it (the write wakes the image).
  if (latest !== undefined && latest.generation > image.generation) {
    return { row, requeueAfterMs: 0 };
  }
  const options = withOptionDefaults(image.container_options);
  const bounds = resolveRollout(options.rollout, image.desired_instances, image.max_instances);
  const assignment = assignContainers(pass.records, pass.containers);
  const probed = image.health_check !== null;
  const current = pass.records.filter((record) => {
    const container = assignment.byInstance.get(record.id);
    return (
      record.deletion_requested_at === null &&
      record.desired_state === "running" &&
      pass.desiredHash !== undefined &&
      container?.labels[labelKeys.specHash] === pass.desiredHash
    );
  });
  const readyNew = current.filter(
    (record) =>
      isUp(assignment.byInstance.get(record.id)) &&
      record.started_at !== null &&
      pass.now.getTime() - record.started_at.getTime() >= bounds.minReadyMs &&
      record.health !== "unhealthy" &&
      (!probed || record.health === "healthy"),
  ).length;
  const failing = current.filter(
    (record) => record.observed_state === "crash_loop" || record.health === "unhealthy",
  );
  const example = failing[0];
  const failure =
    example === undefined
      ? ""
      : example.health === "unhealthy"
        ? `${failing.length} new instance(s) fail their health check (${example.last_probe?.error ?? (example.last_probe?.status_code === undefined ? "failed" : `HTTP ${example.last_probe.status_code}`)})`
        : `${failing.length} new instance(s) crash-loop (${example.last_error ?? "exited"})`;
  const decision = decideRollout(row, {
    currentRevision: latest?.revision,
    ready: pass.ready,
    readyNew,
    failingNew: failing.length,
    failure,
    paused: isRolloutPaused(image),
    progressDeadlineMs: bounds.progressDeadlineMs,
    now: pass.now,
  });
  let next: RolloutWrite | undefined = decision.next ?? row;
  if (decision.next !== undefined) {
    const toEvent = (event: RolloutEvent, extra: { restored_revision?: number } = {}) =>
      imageEvent(event.type, image, pass.reference, event.reason, {
        from_revision: event.fromRevision,
        to_revision: event.toRevision,
        ...(event.message === "" ? {} : { message: event.message }),
        ...extra,
      });
    const written = await store.transaction(async (tx) => {
      const locked = await tx.images.findForUpdate(image.id);
      const newest = await tx.revisions.latest(image.id);
      // Changed meanwhile (a new revision, a deletion): the next pass decides afresh.
      if (locked === undefined || locked.status === "deleting") return row;
      if (newest?.revision !== latest?.revision) return row;
      let saved = decision.next as RolloutWrite;
      await tx.rollouts.save(image.id, saved);
      await tx.events.append(decision.events.map((event) => toEvent(event)));
      const rollback = decision.rollback;
      if (rollback === undefined) return saved;
      const target = await tx.revisions.find(image.id, rollback.toRevision);
      let refusal =
        target === undefined ? "it is no longer kept" : rollbackRefusal(locked, target)?.message;
      // The revision's spec was checked when it was written, but not against what others asked
      // for since: a fixed host port another image took meanwhile stays that image's.
      if (target !== undefined && refusal === undefined) {
        const taken = await firstTakenHostPort(tx, portMappingsOf(target.spec.ports), image.id);
        if (taken !== undefined) {
          refusal = `its host port ${taken.mapping.host}/${taken.mapping.protocol} is another image's now`;
        }
      }
      if (target === undefined || refusal !== undefined) {
        log.warn({ revision: rollback.toRevision, refusal }, "rollout failed; cannot roll back");
        return saved;
      }
      // A spec accepted when it was written: no user check runs again (trusted).
      const restored = await writeRollback(
        tx,
        locked,
        target,
        {
          actor: controllerActor,
          reason: `the rollout of revision ${rollback.failedRevision} failed (${saved.message})`,
          trusted: true,
        },
        deps.settings,
      );
      saved = rollbackRow(saved, restored.revision.revision, rollback.failedRevision, pass.now);
      await tx.rollouts.save(image.id, saved);
      await tx.events.append([
        toEvent(
          {
            type: "image.rolled_back",
            fromRevision: rollback.failedRevision,
            toRevision: restored.revision.revision,
            reason: "rollout_failed",
            message: saved.message,
          },
          { restored_revision: rollback.toRevision },
        ),
      ]);
      log.warn(
        {
          failedRevision: rollback.failedRevision,
          restoredRevision: rollback.toRevision,
          revision: restored.revision.revision,
        },
        "rollout failed; rolled back",
      );
      return saved;
    });
    next = written;
    for (const event of decision.events) {
      log.info({ event: event.type, from: event.fromRevision, to: event.toRevision }, "rollout");
    }
  }
  if (next === undefined || next.state !== "progressing") return { row: next };
  const deadline = next.progressed_at.getTime() + bounds.progressDeadlineMs;
  return { row: next, requeueAfterMs: Math.max(0, deadline - pass.now.getTime()) + 50 };
}
