import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  effectiveLimits,
  growsUsage,
  noUsage,
  type QuotaLimits,
  quotaExceeded,
  subtractUsage,
  usageOfImage,
} from "./quota.ts";

const limits: QuotaLimits = {
  images: 2,
  instances: 4,
  nanoCpus: 2_000_000_000,
  memoryBytes: 1024 ** 3,
  concurrentBuilds: 1,
};

const image = (desired: number, status = "ready") => ({
  status,
  desired_instances: desired,
  nano_cpus: 500_000_000,
  memory_bytes: 256 * 1024 ** 2,
});

describe("quotas", () => {
  it("count an image's instances, CPU and memory, and nothing once it is being deleted", () => {
    expect(usageOfImage(image(3))).toEqual({
      images: 1,
      instances: 3,
      nanoCpus: 1_500_000_000,
      memoryBytes: 768 * 1024 ** 2,
    });
    expect(usageOfImage(image(3, "deleting"))).toEqual(noUsage);
    expect(usageOfImage(undefined)).toEqual(noUsage);
  });

  it("name the first limit a growing change passes", () => {
    const after = { images: 1, instances: 5, nanoCpus: 2_500_000_000, memoryBytes: 0 };
    const delta = { images: 0, instances: 2, nanoCpus: 1_000_000_000, memoryBytes: 0 };
    expect(quotaExceeded(after, delta, limits)).toMatchObject({
      limit: "instances",
      used: 3,
      requested: 5,
      max: 4,
    });
  });

  it("never refuse a change that asks for no more of what is over its limit", () => {
    const after = { images: 3, instances: 3, nanoCpus: 0, memoryBytes: 0 };
    expect(quotaExceeded(after, { ...noUsage, instances: -1 }, limits)).toBeUndefined();
    expect(growsUsage({ ...noUsage, instances: -1 })).toBe(false);
  });

  it("take a user's overrides over the defaults", () => {
    expect(effectiveLimits(limits, { images: 10, nanoCpus: null })).toEqual({
      ...limits,
      images: 10,
    });
  });

  it("refuse exactly the growing changes that end above a limit (property)", () => {
    const usage = fc.record({
      images: fc.nat(5),
      instances: fc.nat(10),
      nanoCpus: fc.nat(5_000_000_000),
      memoryBytes: fc.nat(2 * 1024 ** 3),
    });
    fc.assert(
      fc.property(usage, usage, (before, after) => {
        const delta = subtractUsage(after, before);
        const refusal = quotaExceeded(after, delta, limits);
        const breaks = (["images", "instances", "nanoCpus", "memoryBytes"] as const).some(
          (key) => delta[key] > 0 && after[key] > limits[key],
        );
        expect(refusal !== undefined).toBe(breaks);
        if (refusal !== undefined) expect(refusal.used).toBe(before[refusal.key]);
      }),
    );
  });
});
