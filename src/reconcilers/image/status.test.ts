import { describe, expect, it } from "vitest";
import type { ContainerSnapshot } from "../../docker/runtime.ts";
import type { DependencyCheck } from "../../domain/dependencies.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { imageConditions, msUntilReady } from "./status.ts";

const now = new Date("2026-01-01T00:00:10Z");
const image = {
  id: 1,
  desired_instances: 1,
  health_check: null,
  conditions: [],
} as unknown as ImageRecord;
const running = (startedAt: Date) =>
  ({
    id: "a",
    desired_state: "running",
    deletion_requested_at: null,
    observed_state: "running",
    started_at: startedAt,
    health: "unknown",
    last_error: null,
  }) as unknown as InstanceRecord;
const container = {
  state: "running",
  labels: { [labelKeys.specHash]: "h" },
} as unknown as ContainerSnapshot;
const runnable = { ok: true as const, reference: "x", dockerImageId: "sha256:x" };

const ready = (record: InstanceRecord) =>
  imageConditions({
    image,
    records: [record],
    containerOf: () => container,
    runnability: runnable,
    desiredHash: "h",
    now,
  }).find((condition) => condition.type === "Ready")?.status;

describe("readiness", () => {
  it("does not count an instance that has only just started (a crash at start is not ready)", () => {
    expect(ready(running(new Date(now.getTime() - 1_000)))).toBe("False");
    expect(ready(running(new Date(now.getTime() - 3_000)))).toBe("True");
  });

  it("says when to look again", () => {
    expect(msUntilReady([running(new Date(now.getTime() - 1_000))], now)).toBe(2_000);
    expect(msUntilReady([running(new Date(now.getTime() - 5_000))], now)).toBeUndefined();
  });
});

describe("dependencies in the conditions", () => {
  const conditions = (records: InstanceRecord[], dependencies: DependencyCheck) =>
    Object.fromEntries(
      imageConditions({
        image,
        records,
        containerOf: () => container,
        runnability: runnable,
        desiredHash: "h",
        now,
        dependencies,
      }).map((condition) => [
        condition.type,
        [condition.status, condition.reason, condition.message],
      ]),
    );

  it("says WaitingForDependencies while a dependency does not meet its condition", () => {
    expect(conditions([], { met: false, waitingFor: ["db (healthy)"], failed: [] })).toEqual({
      Ready: ["False", "WaitingForDependencies", "waiting for db (healthy)"],
      Progressing: ["True", "WaitingForDependencies", "waiting for db (healthy)"],
      Degraded: ["False", "AsExpected", ""],
    });
  });

  it("says DependencyFailed, with the code, when a dependency is Degraded", () => {
    const failed = ["db is Degraded (CrashLoopBackOff: exited with code 3)"];
    expect(conditions([], { met: false, waitingFor: ["db (healthy)"], failed })).toMatchObject({
      Ready: ["False", "WaitingForDependencies", "waiting for db (healthy)"],
      Degraded: ["True", "DependencyFailed", `dependency_failed: ${failed[0]}`],
    });
    // Instances already running stay Ready: only the Degraded condition tells.
    const settled = running(new Date(now.getTime() - 5_000));
    expect(
      conditions([settled], { met: false, waitingFor: ["db (healthy)"], failed }),
    ).toMatchObject({
      Ready: ["True", "InstancesRunning", expect.any(String)],
      Degraded: ["True", "DependencyFailed", expect.any(String)],
    });
  });
});

describe("placement in the conditions", () => {
  it("says Unschedulable when instances wait for a node their placement allows (RUNTIME=swarm)", () => {
    const waiting = {
      ...running(now),
      observed_state: "pending",
      started_at: null,
      last_error:
        "unschedulable: no suitable node (scheduling constraints not satisfied on 1 node)",
    } as InstanceRecord;
    const conditions = imageConditions({
      image,
      records: [waiting],
      containerOf: () => undefined,
      runnability: runnable,
      desiredHash: "h",
      now,
      unschedulable: ["no suitable node (scheduling constraints not satisfied on 1 node)"],
    });
    expect(conditions.find((condition) => condition.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "Unschedulable",
      message: expect.stringContaining("1 of 1 instances have no node their placement allows"),
    });
    expect(conditions.find((condition) => condition.type === "Ready")?.status).toBe("False");
  });

  it("says Unschedulable while an update's new task waits and the old one still runs", () => {
    const conditions = imageConditions({
      image,
      records: [running(new Date(now.getTime() - 60_000))],
      containerOf: () => ({ ...container, labels: { [labelKeys.specHash]: "old" } }),
      runnability: runnable,
      desiredHash: "h",
      now,
      unschedulable: ["no suitable node (scheduling constraints not satisfied on 1 node)"],
    });
    expect(conditions.find((condition) => condition.type === "Degraded")).toMatchObject({
      status: "True",
      reason: "Unschedulable",
    });
    expect(conditions.find((condition) => condition.type === "Ready")?.status).toBe("False");
  });
});
