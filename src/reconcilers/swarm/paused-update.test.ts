import { describe, expect, it } from "vitest";
import type { ServiceSnapshot } from "../../docker/swarm.ts";
import { labelKeys } from "../../domain/labels.ts";
import { pausedUpdateRollout } from "./paused-update.ts";

const now = new Date("2026-12-04T18:00:00Z");
const service = (state: string | null, hash = "h2"): ServiceSnapshot => ({
  id: "s1",
  name: "orch-i7",
  version: 9,
  labels: { [labelKeys.specHash]: hash },
  replicas: 2,
  update: null,
  updateStatus: state === null ? null : { state, message: "update paused due to failure" },
});

describe("pausedUpdateRollout", () => {
  it("is a failed rollout of the revision, in Swarm's words, when Swarm paused the update of the desired spec", () => {
    expect(pausedUpdateRollout(service("paused"), "h2", 4, now)).toMatchObject({
      to_revision: 4,
      state: "failed",
      rollback: false,
      message: expect.stringContaining("update paused due to failure"),
    });
  });

  it("is nothing while an update runs or completed, without a service, or when the spec changed since", () => {
    expect(pausedUpdateRollout(service("updating"), "h2", 4, now)).toBeUndefined();
    expect(pausedUpdateRollout(service("completed"), "h2", 4, now)).toBeUndefined();
    expect(pausedUpdateRollout(service(null), "h2", 4, now)).toBeUndefined();
    expect(pausedUpdateRollout(undefined, "h2", 4, now)).toBeUndefined();
    expect(pausedUpdateRollout(service("paused", "h1"), "h2", 4, now)).toBeUndefined();
    expect(pausedUpdateRollout(service("paused"), undefined, 4, now)).toBeUndefined();
  });
});
