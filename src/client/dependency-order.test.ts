import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dependencyOrder } from "./dependency-order.ts";

describe("dependencyOrder", () => {
  it("puts each spec after what it depends on, keeping the given order otherwise", () => {
    const ordered = dependencyOrder([
      { name: "app", depends_on: [{ name: "db" }, "cache"] },
      { name: "db" },
      { name: "cache", depends_on: ["db"] },
      { name: "other", depends_on: ["outside"] },
    ]);
    expect(ordered.map((spec) => spec.name)).toEqual(["db", "cache", "app", "other"]);
  });

  it("refuses a cycle, naming it", () => {
    expect(() =>
      dependencyOrder([
        { name: "a", depends_on: ["b"] },
        { name: "b", depends_on: ["a"] },
      ]),
    ).toThrow("dependency cycle: a → b → a");
  });

  it("orders any acyclic set so that every dependency comes first", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat(20), { maxLength: 4 }), { maxLength: 20 }), (edges) => {
        // Only edges to earlier indexes: acyclic by construction; then shuffled by reversing.
        const specs = edges
          .map((targets, index) => ({
            name: `s${index}`,
            depends_on: targets.filter((target) => target < index).map((target) => `s${target}`),
          }))
          .reverse();
        const position = new Map(dependencyOrder(specs).map((spec, index) => [spec.name, index]));
        expect(position.size).toBe(specs.length);
        for (const spec of specs) {
          for (const dependency of spec.depends_on) {
            expect(position.get(dependency)).toBeLessThan(position.get(spec.name) as number);
          }
        }
      }),
    );
  });
});
