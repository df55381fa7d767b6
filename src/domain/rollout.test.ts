import { describe, expect, it } from "vitest";
import { resolveRollout, rolloutSchema } from "./rollout.ts";

const issuesOf = (value: unknown) => {
  const parsed = rolloutSchema.safeParse(value);
  return parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
};

describe("rollout spec", () => {
  it("fills Kubernetes-like defaults and gives canonical values back", () => {
    expect(rolloutSchema.parse({})).toEqual({
      max_surge: "25%",
      max_unavailable: "25%",
      min_ready: "3s",
      progress_deadline: "10m",
    });
    expect(
      rolloutSchema.parse({
        max_surge: "2",
        max_unavailable: "050%",
        min_ready: "1m30s",
        progress_deadline: "90s",
      }),
    ).toEqual({
      max_surge: 2,
      max_unavailable: "50%",
      min_ready: "1m30s",
      progress_deadline: "1m30s",
    });
  });

  it("refuses bad values with the field's path", () => {
    expect(issuesOf({ max_surge: "150%" })[0]).toMatch(/^max_surge: must be a whole number/);
    expect(issuesOf({ max_surge: -1 })[0]).toMatch(/^max_surge:/);
    expect(issuesOf({ max_unavailable: 1.5 })[0]).toMatch(/^max_unavailable:/);
    expect(issuesOf({ min_ready: "soon" })[0]).toMatch(/^min_ready: must be a duration/);
    expect(issuesOf({ progress_deadline: "0s" })[0]).toMatch(/^progress_deadline: must be between/);
    expect(issuesOf({ surge: 1 })).toHaveLength(1);
  });

  it("refuses a rollout that could never move: no surge and no unavailability", () => {
    expect(issuesOf({ max_surge: 0, max_unavailable: 0 })).toEqual([
      "max_unavailable: max_surge and max_unavailable cannot both be 0: the rollout could never move",
    ]);
    expect(issuesOf({ max_surge: "0%", max_unavailable: "0" })).toHaveLength(1);
    expect(issuesOf({ max_surge: 1, max_unavailable: 0 })).toEqual([]);
  });
});

describe("resolveRollout", () => {
  const spec = (max_surge: number | string, max_unavailable: number | string) => ({
    max_surge,
    max_unavailable,
    min_ready: "5s",
    progress_deadline: "2m",
  });

  it("rounds percentages of the desired count up", () => {
    expect(resolveRollout(spec("25%", "25%"), 3, 10)).toMatchObject({
      maxSurge: 1,
      maxUnavailable: 1,
      startFirst: false,
      minReadyMs: 5_000,
      progressDeadlineMs: 120_000,
    });
    expect(resolveRollout(spec("25%", "25%"), 20, 30)).toMatchObject({
      maxSurge: 5,
      maxUnavailable: 5,
    });
  });

  it("starts new instances first when nothing may be unavailable", () => {
    expect(resolveRollout(spec("50%", 0), 6, 10)).toMatchObject({
      maxSurge: 3,
      maxUnavailable: 0,
      startFirst: true,
    });
  });

  it("never surges past max_instances; with no room, replaces one at a time in place", () => {
    expect(resolveRollout(spec(5, 0), 6, 8)).toMatchObject({ maxSurge: 2, startFirst: true });
    expect(resolveRollout(spec(5, 0), 6, 6)).toMatchObject({
      maxSurge: 0,
      maxUnavailable: 1,
      startFirst: false,
    });
  });

  it("never takes more than the desired count down, and uses defaults when unset", () => {
    expect(resolveRollout(spec(0, 10), 3, 10).maxUnavailable).toBe(3);
    expect(resolveRollout(undefined, 1, 10)).toMatchObject({
      maxSurge: 1,
      maxUnavailable: 1,
      startFirst: false,
      minReadyMs: 3_000,
      progressDeadlineMs: 600_000,
    });
  });
});
