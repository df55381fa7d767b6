import { describe, expect, it } from "vitest";
import { readinessOf } from "./readiness.ts";

const condition = (
  type: "Ready" | "Progressing" | "Degraded",
  status: "True" | "False",
  reason = "R",
  message = "",
) => ({
  type,
  status,
  reason,
  message,
  last_transition_time: "2025-01-01T00:00:00.000Z",
});

const image = (overrides: Partial<Parameters<typeof readinessOf>[0]> = {}) => ({
  status: "ready" as const,
  generation: 2,
  observed_generation: 2,
  conditions: [
    condition("Ready", "True", "InstancesRunning", "2/2 running"),
    condition("Degraded", "False"),
  ],
  ...overrides,
});

describe("readinessOf", () => {
  it("is ready when Ready=True for the current generation", () => {
    expect(readinessOf(image())).toEqual({ state: "ready", message: "2/2 running" });
  });

  it("does not trust the conditions of an older generation", () => {
    expect(readinessOf(image({ observed_generation: 1 }))).toMatchObject({
      state: "progressing",
      reason: "NotObserved",
    });
    const staleDegraded = image({
      observed_generation: 1,
      conditions: [condition("Ready", "False"), condition("Degraded", "True", "CrashLoopBackOff")],
    });
    expect(readinessOf(staleDegraded).state).toBe("progressing");
  });

  it("is degraded when Degraded=True for the current generation, with its reason", () => {
    const crashing = image({
      conditions: [
        condition("Ready", "False"),
        condition("Degraded", "True", "CrashLoopBackOff", "1 of 1 crash-looping"),
      ],
    });
    expect(readinessOf(crashing)).toEqual({
      state: "degraded",
      reason: "CrashLoopBackOff",
      message: "1 of 1 crash-looping",
    });
  });

  it("is degraded when the build failed, whatever the generation", () => {
    expect(
      readinessOf(image({ status: "build_failed", observed_generation: 1, conditions: [] })),
    ).toEqual({
      state: "degraded",
      reason: "BuildFailed",
      message: "the build failed",
    });
  });

  it("is progressing while not ready, saying why", () => {
    const starting = image({
      conditions: [condition("Ready", "False", "InstancesNotReady", "1/2 running")],
    });
    expect(readinessOf(starting)).toEqual({
      state: "progressing",
      reason: "InstancesNotReady",
      message: "1/2 running",
    });
    expect(readinessOf(image({ status: "pending", conditions: [] }))).toMatchObject({
      state: "progressing",
      reason: "pending",
    });
    expect(readinessOf(image({ status: "deleting" })).state).toBe("progressing");
  });

  it("is degraded when the rollout failed or was rolled back, even once Ready again", () => {
    const rolledBack = image({
      conditions: [
        condition("Ready", "True", "InstancesRunning", "2/2 running"),
        condition("Progressing", "False", "RolledBack", "rolled back from revision 5 to 4"),
      ],
    });
    expect(readinessOf(rolledBack)).toEqual({
      state: "degraded",
      reason: "RolledBack",
      message: "rolled back from revision 5 to 4",
    });
    const failed = image({
      conditions: [condition("Progressing", "False", "RolloutFailed", "no progress in 10m")],
    });
    expect(readinessOf(failed)).toMatchObject({ state: "degraded", reason: "RolloutFailed" });
    // An older generation's rollback says nothing about the spec just applied.
    expect(readinessOf({ ...rolledBack, observed_generation: 1 }).state).toBe("progressing");
  });

  it("names Degraded's cause before a failed rollout's", () => {
    const crashing = image({
      conditions: [
        condition("Degraded", "True", "CrashLoopBackOff", "1 instance crash-loops"),
        condition("Progressing", "False", "RolloutFailed", "revision 1 failed"),
      ],
    });
    expect(readinessOf(crashing)).toMatchObject({
      state: "degraded",
      reason: "CrashLoopBackOff",
    });
  });
});
