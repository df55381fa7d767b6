import { describe, expect, it } from "vitest";
import { changedFields } from "./audit.ts";

describe("changedFields", () => {
  it("keeps only the named fields that changed, with both values", () => {
    expect(
      changedFields(
        { desired_instances: 1, env: { A: "1" }, tag: "v1", other: 1 },
        { desired_instances: 3, env: { A: "1" }, tag: "v2", other: 2 },
        ["desired_instances", "env", "tag"],
      ),
    ).toEqual({
      old: { desired_instances: 1, tag: "v1" },
      new: { desired_instances: 3, tag: "v2" },
    });
  });

  it("compares nested values and dates by value, and says null for what is missing", () => {
    const at = new Date("2026-01-01T00:00:00Z");
    expect(
      changedFields(
        { env: { A: "1" }, at, gone: "x" },
        { env: { A: "2" }, at: new Date(at.getTime()) },
        ["env", "at", "gone"],
      ),
    ).toEqual({ old: { env: { A: "1" }, gone: "x" }, new: { env: { A: "2" }, gone: null } });
  });
});
