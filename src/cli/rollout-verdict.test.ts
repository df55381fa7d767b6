import { describe, expect, it } from "vitest";
import {
  type RolloutImage,
  type RolloutObservation,
  rolloutFailureOf,
  rolloutVerdictOf,
} from "./rollout-verdict.ts";

const condition = (type: "Ready" | "Progressing" | "Degraded", status: string, reason: string) => ({
  type,
  status: status as "True" | "False",
  reason,
  message: `${type} ${reason}`,
  last_transition_time: "2026-01-01T00:00:00.000Z",
});

const image = (overrides: Partial<RolloutImage> = {}): RolloutObservation => ({
  kind: "image",
  image: {
    status: "ready",
    generation: 5,
    observed_generation: 5,
    conditions: [
      condition("Ready", "False", "InstancesNotReady"),
      condition("Progressing", "True", "RolloutInProgress"),
      condition("Degraded", "False", "AsExpected"),
    ],
    ...overrides,
  },
});
const readyConditions = [
  condition("Ready", "True", "InstancesRunning"),
  condition("Progressing", "False", "RolloutComplete"),
  condition("Degraded", "False", "AsExpected"),
];
const ready = image({ conditions: readyConditions });
const event = (type: string, imageId = 7, data: unknown = { from_revision: 5, to_revision: 4 }) =>
  ({ kind: "event", event: { type, image_id: imageId, data } }) as const;

describe("rolloutVerdictOf (rollout status: event sequence → exit code)", () => {
  it("is complete once the image is Ready for its current generation", () => {
    expect(rolloutVerdictOf(7, [image(), event("container.started"), ready])).toEqual({
      state: "complete",
      message: "Ready InstancesRunning",
    });
  });

  it("keeps waiting while the generation is not observed, or Ready is false", () => {
    const unobserved = image({ observed_generation: 4, conditions: readyConditions });
    expect(rolloutVerdictOf(7, [unobserved]).state).toBe("progressing");
    expect(rolloutVerdictOf(7, [image()]).state).toBe("progressing");
    // Degraded alone is not the end: the controller may still roll back.
    const degraded = image({
      conditions: [
        condition("Ready", "False", "InstancesNotReady"),
        condition("Degraded", "True", "Unhealthy"),
      ],
    });
    expect(rolloutVerdictOf(7, [degraded]).state).toBe("progressing");
    // A held rollout is still in progress, and says so.
    expect(rolloutVerdictOf(7, [image({ rollout_paused: true })])).toEqual({
      state: "progressing",
      message: "InstancesNotReady: Ready InstancesNotReady (rollout paused: rollout resume IMAGE)",
    });
  });

  it("fails on image.rolled_back or image.rollout_failed of the image, naming the revisions", () => {
    expect(rolloutVerdictOf(7, [image(), event("image.rolled_back")])).toEqual({
      state: "failed",
      message: "rolled back from revision 5 to revision 4",
    });
    expect(
      rolloutVerdictOf(7, [
        event("image.rollout_failed", 7, {
          from_revision: 4,
          to_revision: 5,
          reason: "ProgressDeadlineExceeded",
        }),
      ]),
    ).toEqual({
      state: "failed",
      message: "rollout from revision 4 to revision 5 failed: ProgressDeadlineExceeded",
    });
    // As the controller writes them: the message says why, the reason is only a code.
    expect(
      rolloutVerdictOf(7, [
        event("image.rollout_failed", 7, {
          from_revision: 4,
          to_revision: 5,
          reason: "failed",
          message: "no progress for 21s (progress_deadline)",
        }),
      ]),
    ).toEqual({
      state: "failed",
      message:
        "rollout from revision 4 to revision 5 failed: no progress for 21s (progress_deadline)",
    });
  });

  it("a failure stays a failure when the rolled-back image turns Ready after it", () => {
    expect(rolloutVerdictOf(7, [image(), event("image.rolled_back"), ready]).state).toBe("failed");
  });

  it("a completed rollout is not undone by a later event", () => {
    expect(rolloutVerdictOf(7, [ready, event("image.rolled_back")]).state).toBe("complete");
  });

  it("ignores other images' failures and other event types", () => {
    expect(
      rolloutVerdictOf(7, [image(), event("image.rolled_back", 8), event("image.rollout_started")])
        .state,
    ).toBe("progressing");
  });

  it("fails when the image says RolledBack or RolloutFailed, its build failed, or it is gone", () => {
    const rolledBack = image({
      conditions: [
        condition("Ready", "True", "InstancesRunning"),
        condition("Progressing", "False", "RolledBack"),
      ],
    });
    expect(rolloutVerdictOf(7, [rolledBack])).toEqual({
      state: "failed",
      message: "RolledBack: Progressing RolledBack",
    });
    expect(rolloutVerdictOf(7, [image({ status: "build_failed" })]).state).toBe("failed");
    expect(rolloutVerdictOf(7, [{ kind: "image", image: undefined }]).state).toBe("failed");
    expect(rolloutVerdictOf(7, [image({ status: "deleting" })]).state).toBe("failed");
  });
});

describe("rolloutFailureOf", () => {
  it("says nothing for events that are no failure", () => {
    expect(rolloutFailureOf(event("image.rollout_completed").event, 7)).toBeUndefined();
  });

  it("copes with data lacking the revisions", () => {
    expect(rolloutFailureOf(event("image.rolled_back", 7, null).event, 7)).toBe(
      "rolled back from ? to ?",
    );
  });
});
