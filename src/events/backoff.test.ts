import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";

const policy = { initialMs: 500, maxMs: 30_000 };

describe("backoffDelay", () => {
  it("doubles from the initial delay and stops at the cap", () => {
    const top = () => 1;
    expect([0, 1, 2, 3, 6, 7, 100].map((failure) => backoffDelay(failure, policy, top))).toEqual([
      500, 1_000, 2_000, 4_000, 30_000, 30_000, 30_000,
    ]);
  });

  it("never waits less than half or more than the ceiling, whatever the jitter", () => {
    fc.assert(
      fc.property(fc.nat(200), fc.double({ min: 0, max: 1, noNaN: true }), (failure, jitter) => {
        const delay = backoffDelay(failure, policy, () => jitter);
        const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(failure, 30));
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
    );
  });
});
