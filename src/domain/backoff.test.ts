import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";

const policy = { initialMs: 500, maxMs: 30_000 };

describe("backoffDelay", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 7, 8, 101].map((failures) => backoffDelay(failures, policy, top))).toEqual([
      500, 1_000, 2_000, 4_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("never waits less than half or more than the ceiling, whatever the jitter", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (failures, jitter) => {
          const delay = backoffDelay(failures, policy, () => jitter);
          const ceiling = Math.min(
            policy.maxMs,
            policy.initialMs * 2 ** Math.min(failures - 1, 30),
          );
          expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });

  it("spreads by the policy's own jitter range", () => {
    const spread = { initialMs: 1_000, maxMs: 300_000, jitter: { low: 0.9, high: 1.1 } };
    expect(backoffDelay(1, spread, () => 0.5)).toBe(1_000);
    expect(backoffDelay(2, spread, () => 0.5)).toBe(2_000);
    expect(backoffDelay(4, spread, () => 0.5)).toBe(8_000);
    expect(backoffDelay(30, spread, () => 0.5)).toBe(300_000);
    expect(backoffDelay(1, spread, () => 1)).toBe(1_100);
    expect(backoffDelay(1, spread, () => 0)).toBe(900);
  });
});
