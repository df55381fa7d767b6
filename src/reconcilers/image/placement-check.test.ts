import { describe, expect, it } from "vitest";
import type { NodeFacts } from "../../domain/placement.ts";
import { imageRecordFixture } from "./image-record-fixture.ts";
import { checkPlacement } from "./placement-check.ts";

const runnable = { ok: true, reference: "shop:v1", dockerImageId: "sha256:1" } as const;
const engine: NodeFacts = {
  id: "",
  hostname: "box",
  role: "",
  os: "linux",
  arch: "x86_64",
  nodeLabels: {},
  engineLabels: { disk: "ssd" },
};
const placed = (constraints: string[], spread: string | null = null) =>
  imageRecordFixture({ placement: { constraints, spread } });

describe("checkPlacement (RUNTIME=docker: the engine is the only node)", () => {
  it("leaves an image without constraints, or whose constraints the engine meets, runnable", () => {
    expect(checkPlacement(imageRecordFixture(), runnable, undefined)).toBe(runnable);
    expect(checkPlacement(placed([], "node.labels.zone"), runnable, undefined)).toBe(runnable);
    expect(
      checkPlacement(
        placed(["node.platform.os==linux", "engine.labels.disk==ssd", "node.labels.zone!=a"]),
        runnable,
        engine,
      ),
    ).toBe(runnable);
  });

  it("makes it Unschedulable (Degraded), naming what the engine does not meet", () => {
    expect(
      checkPlacement(
        placed(["node.labels.zone==nowhere", "node.platform.os==linux"]),
        runnable,
        engine,
      ),
    ).toEqual({
      ok: false,
      reason: "Unschedulable",
      message: "placement: node.labels.zone==nowhere is not met by this engine (box)",
      degraded: true,
    });
    // An engine in no swarm has no role: node.role==manager asks for a swarm manager.
    expect(checkPlacement(placed(["node.role==manager"]), runnable, engine)).toMatchObject({
      reason: "Unschedulable",
    });
    expect(checkPlacement(placed(["node.role==manager"]), runnable, undefined)).toMatchObject({
      reason: "Unschedulable",
      message: expect.stringContaining("unknown"),
    });
  });

  it("keeps what made an image not runnable before placement (a pull failure says more)", () => {
    const failed = { ok: false, reason: "ImageNotFound", message: "x", degraded: true } as const;
    expect(checkPlacement(placed(["node.labels.zone==nowhere"]), failed, engine)).toBe(failed);
  });
});
