import { describe, expect, it } from "vitest";
import { positiveId } from "./ids.ts";

describe("positive ids", () => {
  it("reads the ids JavaScript holds exactly", () => {
    expect(positiveId("1")).toBe(1);
    expect(positiveId("9007199254740991")).toBe(9_007_199_254_740_991);
  });

  it("refuses zero, signs, leading zeros, other text, and ids past the largest safe integer", () => {
    for (const raw of ["", "0", "-1", "+1", "01", "1.5", "1e3", " 1", "x", "9007199254740992"]) {
      expect(positiveId(raw), raw).toBeUndefined();
    }
    // It would round to 1e16, another id.
    expect(positiveId("9999999999999999")).toBeUndefined();
  });
});
