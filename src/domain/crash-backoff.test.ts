import { describe, expect, it } from "vitest";
import { restartDelayMs } from "./crash-backoff.ts";

/** The contract (DESIGN.md): at once, then 10 s doubling to 5 min. Numbers, not formulas. */
describe("restartDelayMs", () => {
  it.each([
    [1, 0],
    [2, 10_000],
    [3, 20_000],
    [4, 40_000],
    [5, 80_000],
    [6, 160_000],
    [7, 300_000],
    [8, 300_000],
    [50, 300_000],
  ])("after failure %i in a row waits %i ms", (failures, delay) => {
    expect(restartDelayMs(failures)).toBe(delay);
  });
});
