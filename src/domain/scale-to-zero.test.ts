import { describe, expect, it } from "vitest";
import { decideIdle } from "./scale-to-zero.ts";

const after = 600_000;

describe("decideIdle", () => {
  it("goes to zero once the rate was 0 for scale_to_zero_after, not sooner", () => {
    const first = decideIdle({
      scaleToZeroAfterMs: after,
      current: 2,
      rate: 0,
      idleSince: undefined,
      now: 1_000,
    });
    expect(first).toEqual({ idleSince: 1_000, toZero: false });
    const almost = decideIdle({
      scaleToZeroAfterMs: after,
      current: 2,
      rate: 0,
      idleSince: 1_000,
      now: 600_999,
    });
    expect(almost).toEqual({ idleSince: 1_000, toZero: false });
    const idle = decideIdle({
      scaleToZeroAfterMs: after,
      current: 2,
      rate: 0,
      idleSince: 1_000,
      now: 601_000,
    });
    expect(idle).toEqual({ idleSince: 1_000, toZero: true });
  });

  it("starts over on a request, and on an unknown rate (a gap is not idleness)", () => {
    for (const rate of [0.1, undefined]) {
      expect(
        decideIdle({ scaleToZeroAfterMs: after, current: 1, rate, idleSince: 1_000, now: 900_000 }),
      ).toEqual({ idleSince: undefined, toZero: false });
    }
  });

  it("never moves an image already at zero, and counts idle time again only once it runs", () => {
    expect(
      decideIdle({
        scaleToZeroAfterMs: after,
        current: 0,
        rate: 0,
        idleSince: 1_000,
        now: 900_000,
      }),
    ).toEqual({ idleSince: undefined, toZero: false });
  });
});
