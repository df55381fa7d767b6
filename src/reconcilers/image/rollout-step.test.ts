import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveRollout } from "../../domain/rollout.ts";
import { planRolloutStep, type RolloutMember } from "./rollout-step.ts";

const bounds = (maxSurge: number, maxUnavailable: number) => ({
  maxSurge,
  maxUnavailable,
  startFirst: maxUnavailable === 0,
  minReadyMs: 0,
  progressDeadlineMs: 600_000,
});

const old = (id: string, ready = true): RolloutMember => ({ id, outdated: true, ready });
const fresh = (id: string, ready = true): RolloutMember => ({ id, outdated: false, ready });

describe("planRolloutStep", () => {
  it("does nothing once no instance is outdated", () => {
    const members = [fresh("a"), fresh("b", false)];
    expect(planRolloutStep({ target: 2, total: 2, members, bounds: bounds(1, 0) })).toEqual({
      replace: [],
      add: 0,
      retire: [],
    });
  });

  it("in place: replaces max_unavailable serving instances at a time", () => {
    const members = ["a", "b", "c", "d"].map((id) => old(id));
    const step = planRolloutStep({ target: 4, total: 4, members, bounds: bounds(0, 2) });
    expect(step).toEqual({ replace: ["a", "b"], add: 0, retire: [] });
  });

  it("in place: waits while the replaced ones are not ready yet", () => {
    const members = [fresh("a", false), old("b"), old("c"), old("d")];
    const step = planRolloutStep({ target: 4, total: 4, members, bounds: bounds(0, 1) });
    expect(step).toEqual({ replace: [], add: 0, retire: [] });
  });

  it("replaces outdated instances that serve nobody at once, whatever the budget", () => {
    const members = [old("a", false), old("b"), old("c")];
    const inPlace = planRolloutStep({ target: 3, total: 3, members, bounds: bounds(0, 1) });
    expect(inPlace).toEqual({ replace: ["a"], add: 0, retire: [] });
    // Start-first retires it instead (drained), and starts a new one in its place.
    const startFirst = planRolloutStep({ target: 3, total: 3, members, bounds: bounds(1, 0) });
    expect(startFirst.replace).toEqual([]);
    expect(startFirst.retire).toEqual(["a"]);
  });

  it("start-first: starts max_surge new instances first, and retires none before they are ready", () => {
    const members = ["a", "b", "c", "d"].map((id) => old(id));
    const first = planRolloutStep({ target: 4, total: 4, members, bounds: bounds(1, 0) });
    expect(first).toEqual({ replace: [], add: 1, retire: [] });
    const starting = [...members, fresh("n1", false)];
    const waiting = planRolloutStep({
      target: 4,
      total: 5,
      members: starting,
      bounds: bounds(1, 0),
    });
    expect(waiting).toEqual({ replace: [], add: 0, retire: [] });
    const ready = [...members, fresh("n1")];
    const next = planRolloutStep({ target: 4, total: 5, members: ready, bounds: bounds(1, 0) });
    expect(next).toEqual({ replace: [], add: 0, retire: ["a"] });
  });

  it("does not count stopped or claimed instances as ones that must serve", () => {
    const members = [old("a")];
    const step = planRolloutStep({ target: 2, total: 2, members, bounds: bounds(0, 1) });
    expect(step.replace).toEqual(["a"]);
  });

  it("keeps serving instances at or above desired - max_unavailable, and always finishes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        (target, surge, unavailable, extraMax, readiness) => {
          const resolved = resolveRollout(
            {
              max_surge: surge,
              max_unavailable: unavailable,
              min_ready: "0s",
              progress_deadline: "10m",
            },
            target,
            target + extraMax,
          );
          let members: RolloutMember[] = Array.from({ length: target }, (_, index) =>
            old(`o${index}`),
          );
          let next = 0;
          let coin = 0;
          const minServing = target - resolved.maxUnavailable;
          for (let pass = 0; pass < 400; pass++) {
            // New instances become ready at random moments (all of them eventually).
            members = members.map((member) =>
              member.ready
                ? member
                : {
                    ...member,
                    ready: (readiness[coin++ % readiness.length] ?? false) || pass > 300,
                  },
            );
            const step = planRolloutStep({
              target,
              total: members.length,
              members,
              bounds: resolved,
            });
            const idle = step.replace.length === 0 && step.add === 0 && step.retire.length === 0;
            if (idle && !members.some((member) => member.outdated)) break;
            const gone = new Set([...step.replace, ...step.retire]);
            const replaced = step.replace.map((id) => fresh(id, false));
            members = [
              ...members.filter((member) => !gone.has(member.id)),
              ...replaced,
              ...Array.from({ length: step.add }, () => fresh(`n${next++}`, false)),
            ];
            expect(members.length).toBeLessThanOrEqual(target + resolved.maxSurge);
            expect(members.length).toBeLessThanOrEqual(target + extraMax);
            // What the step took down served; what stays serving never falls below the bound.
            const serving = members.filter((member) => member.ready).length;
            expect(serving).toBeGreaterThanOrEqual(Math.min(minServing, target));
          }
          expect(members.every((member) => !member.outdated)).toBe(true);
          expect(members).toHaveLength(target);
        },
      ),
      { numRuns: 300 },
    );
  });
});
