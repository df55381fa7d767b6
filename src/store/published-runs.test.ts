import { describe, expect, it } from "vitest";
import { publishedRuns } from "./published-runs.ts";

describe("publishedRuns", () => {
  it("makes one run of a batch of consecutive seqs", () => {
    expect(publishedRuns([5, 6, 7, 8])).toEqual({ count: 4, firsts: [5], lasts: [8] });
  });

  it("splits at every gap, whatever the order, and counts a repeated seq once", () => {
    expect(publishedRuns([12, 3, 4, 10, 4, 11, 7])).toEqual({
      count: 6,
      firsts: [3, 7, 10],
      lasts: [4, 7, 12],
    });
  });

  it("sorts numerically, not as text", () => {
    expect(publishedRuns([10, 9, 100, 8])).toEqual({
      count: 4,
      firsts: [8, 100],
      lasts: [10, 100],
    });
  });

  it("has no run for no seqs", () => {
    expect(publishedRuns([])).toEqual({ count: 0, firsts: [], lasts: [] });
  });
});
