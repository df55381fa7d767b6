import { describe, expect, it } from "vitest";
import { engineServiceSpec, updatePolicyOf } from "../../docker/swarm.ts";
import { defaultRollout, type Rollout } from "../../domain/rollout.ts";
import { imageRecordFixture } from "../image/image-record-fixture.ts";
import { serviceRequest } from "./service-request.ts";
import { sameUpdatePolicy, updatePolicy } from "./update-policy.ts";

const rollout = (fields: Partial<Rollout>): Rollout => ({ ...defaultRollout, ...fields });

describe("updatePolicy", () => {
  it("maps the defaults (25%/25%, min_ready 3s) to stop-first, a quarter rounded up at a time, paused on failure", () => {
    expect(updatePolicy(undefined, 8, 10)).toEqual({
      parallelism: 2,
      order: "stop-first",
      monitorMs: 3_000,
      failureAction: "pause",
      maxFailureRatio: 0,
    });
    // 25% of 3 rounds up to 1, as the container runtime's bounds do.
    expect(updatePolicy(defaultRollout, 3, 3).parallelism).toBe(1);
  });

  it("is start-first with max_surge tasks at a time when max_unavailable is 0", () => {
    const policy = updatePolicy(
      rollout({ max_surge: 2, max_unavailable: 0, min_ready: "10s" }),
      6,
      10,
    );
    expect(policy).toMatchObject({ parallelism: 2, order: "start-first", monitorMs: 10_000 });
    expect(updatePolicy(rollout({ max_surge: "50%", max_unavailable: 0 }), 6, 10).parallelism).toBe(
      3,
    );
  });

  it("replaces in place, one at a time, when max_instances leaves no room to surge (the fencepost rule)", () => {
    expect(updatePolicy(rollout({ max_surge: 2, max_unavailable: 0 }), 4, 4)).toMatchObject({
      parallelism: 1,
      order: "stop-first",
    });
  });

  it("caps surge at max_instances and unavailability at the replicas; never 0 (Swarm's all at once)", () => {
    expect(updatePolicy(rollout({ max_surge: 5, max_unavailable: 0 }), 3, 5).parallelism).toBe(2);
    expect(updatePolicy(rollout({ max_unavailable: "100%" }), 4, 4).parallelism).toBe(4);
    expect(updatePolicy(rollout({ max_unavailable: 9 }), 2, 4).parallelism).toBe(2);
    expect(updatePolicy(defaultRollout, 0, 4).parallelism).toBe(1);
  });
});

describe("the service's UpdateConfig", () => {
  const request = (fields: Partial<Rollout>, replicas = 4) =>
    serviceRequest({
      image: imageRecordFixture({ rollout: rollout(fields) }, { max_instances: 6 }),
      reference: "shop:v1",
      env: {},
      specHash: "abc",
      replicas,
      settings: { orchestratorId: "orch", stopTimeoutSeconds: 10, pidsLimit: 512 },
    });

  it("is the image's rollout, and the same for a rollback (never Swarm's own rollback)", () => {
    const spec = engineServiceSpec(request({ max_surge: 1, max_unavailable: 0, min_ready: "5s" }));
    expect(spec.UpdateConfig).toEqual({
      Parallelism: 1,
      Order: "start-first",
      Monitor: 5_000_000_000,
      FailureAction: "pause",
      MaxFailureRatio: 0,
    });
    expect(spec.RollbackConfig).toEqual(spec.UpdateConfig);
  });

  it("reads back as the policy it was written from; a change of rollout alone differs", () => {
    const written = request({ max_surge: 1, max_unavailable: 0 });
    const read = updatePolicyOf(engineServiceSpec(written).UpdateConfig);
    expect(sameUpdatePolicy(read, written.update)).toBe(true);
    expect(sameUpdatePolicy(read, request({ max_surge: 2, max_unavailable: 0 }).update)).toBe(
      false,
    );
    expect(sameUpdatePolicy(read, request({ max_surge: 1, max_unavailable: 1 }).update)).toBe(
      false,
    );
    expect(
      sameUpdatePolicy(read, request({ max_surge: 1, max_unavailable: 0, min_ready: "1m" }).update),
    ).toBe(false);
    // A service made before the mapping (or by hand) with none: updated.
    expect(sameUpdatePolicy(null, written.update)).toBe(false);
  });

  it("reads the engine's omitted zero fields as their zero values (Monitor 0, stop-first)", () => {
    expect(updatePolicyOf({ Parallelism: 1, FailureAction: "pause" })).toEqual({
      parallelism: 1,
      order: "stop-first",
      monitorMs: 0,
      failureAction: "pause",
      maxFailureRatio: 0,
    });
  });
});
