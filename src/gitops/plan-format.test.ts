import { describe, expect, it } from "vitest";
import {
  countPlan,
  diffExitCode,
  formatPlan,
  formatPlanItem,
  formatPlanSummary,
  formatPlanValue,
  type Plan,
} from "./plan-format.ts";

describe("formatPlanItem", () => {
  it("renders each action like terraform", () => {
    expect(formatPlanItem({ name: "shop", action: "create" })).toBe("+ shop (create)");
    expect(
      formatPlanItem({
        name: "api",
        action: "update",
        changes: [{ field: "desired_instances", from: 2, to: 4 }],
      }),
    ).toBe("~ api (desired_instances 2 → 4)");
    expect(formatPlanItem({ name: "web", action: "replace", reason: "image changed" })).toBe(
      "-/+ web (replace: image changed)",
    );
    expect(formatPlanItem({ name: "old", action: "delete" })).toBe("- old (delete)");
    expect(formatPlanItem({ name: "same", action: "unchanged" })).toBeUndefined();
  });

  it("lists several changes, and a reason before them", () => {
    expect(
      formatPlanItem({
        name: "api",
        action: "update",
        changes: [
          { field: "desired_instances", from: 2, to: 4 },
          { field: "app_hostname", from: null, to: "api.example.com" },
        ],
      }),
    ).toBe("~ api (desired_instances 2 → 4, app_hostname null → api.example.com)");
    expect(
      formatPlanItem({
        name: "web",
        action: "replace",
        reason: "image changed",
        changes: [{ field: "tag", from: "v1", to: "v2" }],
      }),
    ).toBe("-/+ web (replace: image changed; tag v1 → v2)");
    expect(formatPlanItem({ name: "api", action: "update", changes: [] })).toBe("~ api (update)");
    expect(formatPlanItem({ name: "old", action: "delete", reason: "pruned" })).toBe(
      "- old (delete: pruned)",
    );
  });
});

describe("formatPlanValue", () => {
  it("quotes only what would be ambiguous", () => {
    expect(formatPlanValue("512m")).toBe("512m");
    expect(formatPlanValue("")).toBe('""');
    expect(formatPlanValue("two words")).toBe('"two words"');
    expect(formatPlanValue("null")).toBe('"null"');
    expect(formatPlanValue(null)).toBe("null");
    expect(formatPlanValue(undefined)).toBe("null");
    expect(formatPlanValue(true)).toBe("true");
    expect(formatPlanValue({ B: "2", A: "1" })).toBe('{"A":"1","B":"2"}');
  });
});

describe("formatPlan", () => {
  const plan: Plan = {
    items: [
      { name: "shop", action: "create" },
      { name: "cart", action: "create" },
      { name: "api", action: "update", changes: [{ field: "desired_instances", from: 2, to: 4 }] },
      { name: "same", action: "unchanged" },
    ],
  };

  it("prints the changed images and the closing line", () => {
    expect(formatPlan(plan)).toEqual([
      "+ shop (create)",
      "+ cart (create)",
      "~ api (desired_instances 2 → 4)",
      "2 to create, 1 to change, 0 to delete",
    ]);
  });

  it("counts a replacement as a change", () => {
    const counts = countPlan({
      items: [
        { name: "web", action: "replace", reason: "image changed" },
        { name: "old", action: "delete" },
      ],
    });
    expect(counts).toEqual({ create: 0, change: 1, delete: 1, unchanged: 0 });
    expect(formatPlanSummary(counts)).toBe("0 to create, 1 to change, 1 to delete");
  });

  it('says "No changes." when nothing would change', () => {
    const quiet: Plan = { items: [{ name: "same", action: "unchanged" }] };
    expect(formatPlan(quiet)).toEqual(["No changes."]);
    expect(formatPlan({ items: [] })).toEqual(["No changes."]);
  });
});

describe("diffExitCode", () => {
  it("is 0 when nothing would change and 1 when something would", () => {
    expect(diffExitCode({ items: [] })).toBe(0);
    expect(diffExitCode({ items: [{ name: "same", action: "unchanged" }] })).toBe(0);
    for (const action of ["create", "update", "replace", "delete"] as const) {
      expect(diffExitCode({ items: [{ name: "x", action }] })).toBe(1);
    }
  });
});
