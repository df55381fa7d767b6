import { describe, expect, it } from "vitest";
import type { RolloutRecord } from "../../store/rollouts-repository.ts";
import {
  decideRollout,
  type RolloutObservation,
  rollbackRow,
  rolloutProgressing,
} from "./rollout-progress.ts";

const t0 = new Date("2026-01-01T00:00:00Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const seen = (overrides: Partial<RolloutObservation> = {}): RolloutObservation => ({
  currentRevision: 2,
  ready: false,
  readyNew: 0,
  failingNew: 0,
  failure: "",
  paused: false,
  progressDeadlineMs: 60_000,
  now: at(10),
  ...overrides,
});

const row = (overrides: Partial<RolloutRecord> = {}): RolloutRecord => ({
  image_id: 7,
  stable_revision: 1,
  from_revision: 1,
  to_revision: 2,
  state: "progressing",
  rollback: false,
  started_at: t0,
  progressed_at: t0,
  ready_new: 0,
  finished_at: null,
  message: "",
  ...overrides,
});

const types = (decision: ReturnType<typeof decideRollout>) =>
  decision.events.map((event) => `${event.type} ${event.fromRevision}→${event.toRevision}`);

describe("decideRollout", () => {
  it("takes the first Ready revision it sees as stable, without events", () => {
    const decision = decideRollout(undefined, seen({ currentRevision: 1, ready: true }));
    expect(decision.next).toMatchObject({ stable_revision: 1, to_revision: 1, state: "complete" });
    expect(decision.events).toEqual([]);
  });

  it("starts a rollout from the last Ready revision when a new one appears", () => {
    const complete = row({ to_revision: 1, state: "complete", from_revision: null });
    const decision = decideRollout(complete, seen());
    expect(decision.next).toMatchObject({ from_revision: 1, to_revision: 2, state: "progressing" });
    expect(types(decision)).toEqual(["image.rollout_started 1→2"]);
  });

  it("completes once the image is Ready, and the new revision becomes the stable one", () => {
    const decision = decideRollout(row(), seen({ ready: true, readyNew: 3 }));
    expect(decision.next).toMatchObject({ state: "complete", stable_revision: 2 });
    expect(types(decision)).toEqual(["image.rollout_completed 1→2"]);
  });

  it("moves the deadline on when a new instance became ready, and writes nothing otherwise", () => {
    expect(decideRollout(row(), seen({ readyNew: 1 })).next).toMatchObject({
      progressed_at: at(10),
      ready_new: 1,
    });
    expect(decideRollout(row({ ready_new: 1 }), seen({ readyNew: 1 }))).toEqual({ events: [] });
  });

  it("fails past progress_deadline without progress, and rolls back to the stable revision", () => {
    const decision = decideRollout(row(), seen({ now: at(61) }));
    expect(decision.next).toMatchObject({ state: "failed" });
    expect(decision.next?.message).toMatch(/no progress for 61s/);
    expect(types(decision)).toEqual(["image.rollout_failed 1→2"]);
    expect(decision.rollback).toEqual({ toRevision: 1, failedRevision: 2 });
  });

  it("fails at once when a new instance crash-loops or fails its health check", () => {
    const decision = decideRollout(row(), seen({ failingNew: 1, failure: "1 unhealthy" }));
    expect(decision.next).toMatchObject({ state: "failed", message: "1 unhealthy" });
    expect(decision.rollback).toEqual({ toRevision: 1, failedRevision: 2 });
  });

  it("never rolls a rollback back", () => {
    const decision = decideRollout(
      row({ rollback: true, from_revision: 2, to_revision: 3 }),
      seen({ currentRevision: 3, failingNew: 2, failure: "still bad" }),
    );
    expect(decision.next).toMatchObject({ state: "failed" });
    expect(types(decision)).toEqual(["image.rollout_failed 2→3"]);
    expect(decision.rollback).toBeUndefined();
  });

  it("does not time out while paused", () => {
    const decision = decideRollout(row(), seen({ now: at(600), paused: true }));
    expect(decision.next).toMatchObject({ state: "progressing", progressed_at: at(600) });
    expect(decision.rollback).toBeUndefined();
  });

  it("has no revision to go back to on an image's first rollout", () => {
    const first = row({ stable_revision: null, from_revision: null, to_revision: 1 });
    const decision = decideRollout(first, seen({ currentRevision: 1, now: at(61) }));
    expect(decision.next).toMatchObject({ state: "failed" });
    expect(decision.rollback).toBeUndefined();
    expect(decision.events).toEqual([]);
  });

  it("completes a failed rollout that was not rolled back once its instances recover", () => {
    const failed = row({
      state: "failed",
      stable_revision: null,
      from_revision: null,
      to_revision: 1,
    });
    const decision = decideRollout(failed, seen({ currentRevision: 1, ready: true, readyNew: 2 }));
    expect(decision.next).toMatchObject({ state: "complete", stable_revision: 1 });
    expect(decision.events).toEqual([]);
  });

  it("does nothing more once a rollout has ended", () => {
    expect(decideRollout(row({ state: "failed" }), seen({ failingNew: 1 }))).toEqual({
      events: [],
    });
  });
});

describe("rolloutProgressing", () => {
  const generic = {
    type: "Progressing" as const,
    status: "True" as const,
    reason: "Reconciling",
    message: "1/3 instances running the current spec",
  };

  it("tells the rollout's state in place of the generic reasons", () => {
    expect(rolloutProgressing(row(), generic).reason).toBe("RolloutInProgress");
    expect(rolloutProgressing(row({ state: "failed", message: "x" }), generic)).toMatchObject({
      status: "False",
      reason: "RolloutFailed",
    });
    expect(rolloutProgressing(row({ rollback: true }), generic).reason).toBe("RolledBack");
    expect(
      rolloutProgressing(row({ state: "complete" }), {
        ...generic,
        status: "False",
        reason: "Converged",
      }),
    ).toMatchObject({ status: "False", reason: "RolloutComplete" });
  });

  it("names the revision a rollback restored, also once it is done", () => {
    const failed = row({ from_revision: 1, to_revision: 2, state: "failed", message: "crash" });
    const rolling = { image_id: 7, ...rollbackRow(failed, 3, 2, at(20)) };
    const said =
      "rolled back to revision 3, which runs revision 1 again, as revision 2 failed: crash";
    expect(rolloutProgressing(rolling, generic)).toMatchObject({ status: "True", message: said });
    const done = decideRollout(rolling, seen({ currentRevision: 3, ready: true, now: at(30) }));
    expect(done.next).toMatchObject({ state: "complete", stable_revision: 3 });
    expect(rolloutProgressing(done.next, { ...generic, reason: "Converged" })).toMatchObject({
      status: "False",
      reason: "RolledBack",
      message: said,
    });
  });

  it("says a paused rollout is paused (status Unknown), and only while it is in progress", () => {
    expect(rolloutProgressing(row(), generic, true)).toEqual({
      type: "Progressing",
      status: "Unknown",
      reason: "RolloutPaused",
      message: "revision 2 (from revision 1) is paused: 1/3 instances running the current spec",
    });
    expect(rolloutProgressing(row(), generic, false).reason).toBe("RolloutInProgress");
    const converged = { ...generic, status: "False" as const, reason: "Converged" };
    expect(rolloutProgressing(row({ state: "complete" }), converged, true).reason).toBe(
      "RolloutComplete",
    );
    expect(rolloutProgressing(row({ state: "failed", message: "x" }), generic, true).reason).toBe(
      "RolloutFailed",
    );
  });

  it("leaves other reasons (a build, waiting for a dependency) as they are", () => {
    const building = { ...generic, reason: "Building" };
    expect(rolloutProgressing(row(), building)).toBe(building);
  });
});
