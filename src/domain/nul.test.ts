import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findNul } from "./nul.ts";

describe("findNul", () => {
  it("names every string and key holding a NUL, by path", () => {
    expect(
      findNul({ env: { A: "x\u0000y", "B\u0000": "ok" }, items: ["fine", "\u0000"], n: 1 }),
    ).toEqual([
      { path: ["env", "A"], inKey: false },
      { path: ["env", "B\u0000"], inKey: true },
      { path: ["items", 1], inKey: false },
    ]);
  });

  it("finds nothing in values without one, and something in every value with one", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ stringUnit: fc.constantFrom("a", "\u0000", "\\", "u", "0") }),
        (value) => {
          // In JSON text a NUL is the escape \u0000 once escaped backslashes are taken out.
          const text = (JSON.stringify(value) ?? "").replaceAll("\\\\", "");
          expect(findNul(value).length > 0).toBe(text.includes("\\u0000"));
        },
      ),
    );
  });
});
