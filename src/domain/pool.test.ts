import { describe, expect, it } from "vitest";
import { claimTtlMs, isIdle, isServing, poolSchema, poolTarget } from "./pool.ts";

const member = {
  claim_key: null,
  deletion_requested_at: null,
  recycle_requested_at: null,
  desired_state: "running",
  observed_state: "running",
  health: "unknown",
};

describe("pool spec", () => {
  it("fills the defaults and canonicalises the TTL", () => {
    expect(poolSchema.parse({})).toEqual({
      min_idle: 2,
      max: 10,
      claim_ttl: "1h",
      recycle: "restart",
    });
    expect(poolSchema.parse({ claim_ttl: "90m", recycle: "replace" })).toMatchObject({
      claim_ttl: "1h30m",
      recycle: "replace",
    });
    expect(claimTtlMs(poolSchema.parse({ claim_ttl: "90s" }))).toBe(90_000);
  });

  it.each([
    [{ min_idle: 5, max: 2 }, "min_idle"],
    [{ max: 0 }, "max"],
    [{ min_idle: -1 }, "min_idle"],
    [{ claim_ttl: "soon" }, "claim_ttl"],
    [{ claim_ttl: "0s" }, "claim_ttl"],
    [{ recycle: "reboot" }, "recycle"],
    [{ size: 3 }, ""],
  ])("refuses %j at %s", (pool, path) => {
    const parsed = poolSchema.safeParse(pool);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.path.join("."))).toContain(path);
  });
});

describe("pool decisions", () => {
  it("keeps one instance per claim plus min_idle, never more than max", () => {
    const pool = poolSchema.parse({ min_idle: 2, max: 5 });
    expect(poolTarget(pool, 0)).toBe(2);
    expect(poolTarget(pool, 2)).toBe(4);
    expect(poolTarget(pool, 4)).toBe(5);
    expect(poolTarget(pool, 5)).toBe(5);
  });

  it("hands out only running, unclaimed, unrecycled instances (healthy when checked)", () => {
    expect(isIdle(member, false)).toBe(true);
    expect(isIdle(member, true)).toBe(false);
    expect(isIdle({ ...member, health: "healthy" }, true)).toBe(true);
    expect(isIdle({ ...member, claim_key: "p1" }, false)).toBe(false);
    expect(isIdle({ ...member, recycle_requested_at: new Date() }, false)).toBe(false);
    expect(isIdle({ ...member, deletion_requested_at: new Date() }, false)).toBe(false);
    expect(isIdle({ ...member, observed_state: "creating" }, false)).toBe(false);
  });

  it("answers a claim only once the instance serves on its port", () => {
    const serving = { ...member, container_id: "c1", host_port: 32768 };
    expect(isServing(serving, false)).toBe(true);
    expect(isServing({ ...serving, host_port: null }, false)).toBe(false);
    expect(isServing({ ...serving, observed_state: "pending" }, false)).toBe(false);
    expect(isServing(serving, true)).toBe(false);
  });
});
