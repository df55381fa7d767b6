import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Dependency } from "./container-options.ts";
import {
  checkDependencies,
  type DependencyNode,
  type DependencyState,
  dependencyIssues,
  relatedImages,
  removalOrder,
} from "./dependencies.ts";

const on = (...names: string[]): Dependency[] =>
  names.map((name) => ({ name, condition: "healthy" }));
const node = (name: string, ...dependsOn: string[]): DependencyNode => ({
  name,
  depends_on: on(...dependsOn),
});

/** Random graphs over a few names (self-loops and cycles included). */
const graphs = fc
  .integer({ min: 1, max: 7 })
  .chain((size) => {
    const names = Array.from({ length: size }, (_, index) => `n${index}`);
    return fc.tuple(
      fc.constant(names),
      fc.array(fc.uniqueArray(fc.constantFrom(...names), { maxLength: size }), {
        minLength: size,
        maxLength: size,
      }),
    );
  })
  .map(([names, targets]) => names.map((name, index) => node(name, ...(targets[index] ?? []))));

/** Kahn's algorithm: a reference for "has a cycle" that shares no code with the detector. */
function isAcyclic(nodes: readonly DependencyNode[]): boolean {
  const pending = new Map(nodes.map((item) => [item.name, item.depends_on.length]));
  const ready = nodes.filter((item) => item.depends_on.length === 0).map((item) => item.name);
  let done = 0;
  while (ready.length > 0) {
    const name = ready.pop() as string;
    done += 1;
    for (const dependent of nodes) {
      if (!dependent.depends_on.some((dependency) => dependency.name === name)) continue;
      const left = (pending.get(dependent.name) ?? 0) - 1;
      pending.set(dependent.name, left);
      if (left === 0) ready.push(dependent.name);
    }
  }
  return done === nodes.length;
}

describe("dependencyIssues", () => {
  it("names a two-image cycle once, at the dependency that starts it", () => {
    const issues = dependencyIssues([node("a", "b"), node("b", "a")], ["a", "b"]);
    expect(issues).toEqual([
      { image: "a", index: 0, message: "a → b → a is a cycle", cycle: ["a", "b", "a"] },
    ]);
  });

  it("refuses an image that depends on itself", () => {
    expect(dependencyIssues([node("a", "x", "a"), node("x")], ["a"])).toEqual([
      { image: "a", index: 1, message: "a → a is a cycle", cycle: ["a", "a"] },
    ]);
  });

  it("finds a cycle through images that are not being written", () => {
    const issues = dependencyIssues([node("a", "b"), node("b", "c"), node("c", "a")], ["c"]);
    expect(issues.map((issue) => issue.message)).toEqual(["c → a → b → c is a cycle"]);
  });

  it("refuses unknown names unless the rest of the tenant's images are unknown here", () => {
    const nodes = [node("app", "db", "cache"), node("db")];
    expect(dependencyIssues(nodes, ["app"])).toEqual([
      { image: "app", index: 1, message: "cache: no image of yours has this name" },
    ]);
    expect(dependencyIssues(nodes, ["app"], { unknownAllowed: true })).toEqual([]);
  });

  it("accepts a diamond", () => {
    const nodes = [node("web", "api", "auth"), node("api", "db"), node("auth", "db"), node("db")];
    expect(dependencyIssues(nodes, ["web", "api", "auth", "db"])).toEqual([]);
  });

  it("reports a cycle exactly when the graph has one, and every cycle it names is real", () => {
    fc.assert(
      fc.property(graphs, (nodes) => {
        const issues = dependencyIssues(
          nodes,
          nodes.map((item) => item.name),
        );
        expect(issues.length === 0).toBe(isAcyclic(nodes));
        const edges = new Map(
          nodes.map((item) => [item.name, item.depends_on.map((dependency) => dependency.name)]),
        );
        for (const issue of issues) {
          const cycle = issue.cycle ?? [];
          expect(cycle[0]).toBe(issue.image);
          expect(cycle.at(-1)).toBe(issue.image);
          expect(edges.get(issue.image)?.[issue.index]).toBe(cycle[1]);
          for (let step = 0; step + 1 < cycle.length; step++) {
            expect(edges.get(cycle[step] as string)).toContain(cycle[step + 1]);
          }
        }
      }),
    );
  });
});

describe("checkDependencies", () => {
  const state = (overrides: Partial<DependencyState> = {}): DependencyState => ({
    deleting: false,
    ready: false,
    started: false,
    degraded: undefined,
    ...overrides,
  });

  it("waits for healthy until the dependency is Ready, for started until one instance runs", () => {
    const dependsOn: Dependency[] = [
      { name: "db", condition: "healthy" },
      { name: "cache", condition: "started" },
    ];
    const running = state({ started: true });
    expect(
      checkDependencies(
        dependsOn,
        new Map([
          ["db", running],
          ["cache", running],
        ]),
      ),
    ).toEqual({ met: false, waitingFor: ["db (healthy)"], failed: [] });
    expect(
      checkDependencies(
        dependsOn,
        new Map([
          ["db", state({ ready: true, started: true })],
          ["cache", running],
        ]),
      ),
    ).toEqual({ met: true, waitingFor: [], failed: [] });
  });

  it("says which dependency failed: Degraded, gone or being deleted", () => {
    const check = checkDependencies(
      on("db", "gone", "leaving"),
      new Map([
        ["db", state({ degraded: { reason: "CrashLoopBackOff", message: "exited with code 3" } })],
        ["leaving", state({ deleting: true, ready: true })],
      ]),
    );
    expect(check).toEqual({
      met: false,
      waitingFor: ["db (healthy)", "gone (healthy)", "leaving (healthy)"],
      failed: [
        "db is Degraded (CrashLoopBackOff: exited with code 3)",
        "gone does not exist",
        "leaving is being deleted",
      ],
    });
  });
});

describe("removalOrder", () => {
  it("removes every image before the images it depends on", () => {
    fc.assert(
      fc.property(
        graphs.filter((nodes) => isAcyclic(nodes)),
        (nodes) => {
          const order = removalOrder(nodes).map((item) => item.name);
          expect([...order].sort()).toEqual(nodes.map((item) => item.name).sort());
          for (const item of nodes) {
            for (const dependency of item.depends_on) {
              expect(order.indexOf(item.name)).toBeLessThan(order.indexOf(dependency.name));
            }
          }
        },
      ),
    );
  });

  it("keeps the given order where dependencies do not decide, and survives a cycle", () => {
    expect(removalOrder([node("db"), node("app", "db"), node("other")]).map((n) => n.name)).toEqual(
      ["app", "db", "other"],
    );
    expect(removalOrder([node("a", "b"), node("b", "a")]).map((n) => n.name)).toHaveLength(2);
  });
});

describe("relatedImages", () => {
  it("gives the dependents and the dependencies of an image, not itself or strangers", () => {
    const nodes = [node("app", "db"), node("db"), node("web", "app"), node("other")];
    expect(relatedImages(node("app", "db"), nodes).map((item) => item.name)).toEqual(["db", "web"]);
  });
});
