import { describe, expect, it } from "vitest";
import type { HealthSnapshot } from "../store/health-snapshots-repository.ts";
import type { InstanceRecord } from "../store/records.ts";
import { samplesOf, scalingInstances } from "./measure.ts";

const instance = (id: string, fields: Partial<InstanceRecord> = {}) =>
  ({
    id,
    desired_state: "running",
    observed_state: "running",
    deletion_requested_at: null,
    ...fields,
  }) as InstanceRecord;

const snapshot = (instanceId: string, cpu: number | null, memory: number | null) =>
  ({ instance_id: instanceId, cpu_usage: cpu, memory_usage: memory }) as HealthSnapshot;

describe("scalingInstances", () => {
  it("counts running instances only: not stopped, not starting, not being removed", () => {
    const counted = scalingInstances([
      instance("a"),
      instance("b", { observed_state: "creating" }),
      instance("c", { desired_state: "stopped" }),
      instance("d", { deletion_requested_at: new Date() }),
      instance("e"),
    ]);
    expect(counted.map((row) => row.id)).toEqual(["a", "e"]);
  });
});

describe("samplesOf", () => {
  const instances = [instance("a"), instance("b"), instance("c")];
  const snapshots = [snapshot("a", 90, 20), snapshot("b", null, 30), snapshot("x", 5, 5)];

  it("takes each instance's cpu or memory sample, undefined where it has none", () => {
    expect(samplesOf("cpu", instances, snapshots, undefined)).toEqual([90, undefined, undefined]);
    expect(samplesOf("memory", instances, snapshots, undefined)).toEqual([20, 30, undefined]);
  });

  it("shares the hostname's request rate evenly, or has none while it is unknown", () => {
    expect(samplesOf("requests_per_second", instances, [], 30)).toEqual([10, 10, 10]);
    expect(samplesOf("requests_per_second", instances, [], undefined)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});
