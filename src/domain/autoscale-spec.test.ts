import { describe, expect, it } from "vitest";
import { zodFieldErrors } from "../api/validation.ts";
import { autoscaleSpecOf, scaleToZeroAfterMs } from "./autoscale-spec.ts";
import { imagePatchSchema, newImageSchema } from "./image-spec.ts";

const schema = newImageSchema(20);
const image = { name: "shop", image: "nginx:1.27", min_instances: 1, max_instances: 5 };

function accepted(fields: Record<string, unknown>) {
  const parsed = schema.safeParse({ ...image, ...fields });
  if (!parsed.success) throw new Error(`refused: ${JSON.stringify(zodFieldErrors(parsed.error))}`);
  return parsed.data;
}

function refusals(fields: Record<string, unknown>) {
  const parsed = schema.safeParse({ ...image, ...fields });
  if (parsed.success) throw new Error(`accepted: ${JSON.stringify(fields)}`);
  return zodFieldErrors(parsed.error);
}

describe("the autoscale field", () => {
  it("is off by default, and fills its defaults canonically when on", () => {
    expect(accepted({}).autoscale).toBeNull();
    expect(accepted({ autoscale: { metric: "cpu", target: 70 } }).autoscale).toEqual({
      metric: "cpu",
      target: 70,
      scale_up_step: "100%",
      scale_down_stabilization: "5m",
    });
    expect(
      accepted({
        autoscale: {
          metric: "requests_per_second",
          target: 2.5,
          scale_up_step: "4",
          scale_down_stabilization: "300s",
        },
      }).autoscale,
    ).toEqual({
      metric: "requests_per_second",
      target: 2.5,
      scale_up_step: 4,
      scale_down_stabilization: "5m",
    });
  });

  it("names the field of each bad value", () => {
    expect(refusals({ autoscale: { metric: "disk", target: 70 } })).toEqual([
      { path: "autoscale.metric", message: 'must be "cpu", "memory" or "requests_per_second"' },
    ]);
    for (const target of [0, -5, "70"]) {
      expect(refusals({ autoscale: { metric: "cpu", target } }).map((e) => e.path)).toEqual([
        "autoscale.target",
      ]);
    }
    for (const step of ["0%", "150 %", 0, 2.5, "lots"]) {
      expect(
        refusals({ autoscale: { metric: "cpu", target: 70, scale_up_step: step } }).map(
          (e) => e.path,
        ),
      ).toEqual(["autoscale.scale_up_step"]);
    }
    expect(
      refusals({
        autoscale: { metric: "cpu", target: 70, scale_down_stabilization: "2h" },
      }).map((e) => e.path),
    ).toEqual(["autoscale.scale_down_stabilization"]);
    expect(
      refusals({ autoscale: { metric: "cpu", target: 70, window: "1m" } }).map((e) => e.path),
    ).toEqual(["autoscale.window"]);
  });

  it("needs bounds it can move between: min ≤ max, at least one instance, no pool", () => {
    const autoscale = { metric: "cpu", target: 70 };
    expect(refusals({ autoscale, min_instances: 0 }).map((e) => e.path)).toEqual(["min_instances"]);
    expect(
      refusals({ autoscale, min_instances: 4, max_instances: 2 }).map((e) => e.path),
    ).toContain("min_instances");
    expect(refusals({ autoscale, pool: { min_idle: 1, max: 3 } }).map((e) => e.path)).toEqual([
      "autoscale",
    ]);
  });

  it("scales to zero only by requests, with min_instances 0, after a canonical duration", () => {
    const rps = { metric: "requests_per_second", target: 5 };
    const sleepy = accepted({
      min_instances: 0,
      autoscale: { ...rps, scale_to_zero_after: "600s" },
    }).autoscale;
    expect(sleepy).toMatchObject({ scale_to_zero_after: "10m" });
    expect(sleepy === null ? undefined : scaleToZeroAfterMs(sleepy)).toBe(600_000);
    // Unset, it is absent (stored specs stay as they were).
    expect(accepted({ autoscale: rps }).autoscale).not.toHaveProperty("scale_to_zero_after");
    expect(
      refusals({ min_instances: 0, autoscale: { ...rps, scale_to_zero_after: "0s" } }).map(
        (e) => e.path,
      ),
    ).toEqual(["autoscale.scale_to_zero_after"]);
    expect(
      refusals({
        min_instances: 0,
        autoscale: { metric: "cpu", target: 70, scale_to_zero_after: "10m" },
      }).map((e) => e.path),
    ).toEqual(["autoscale.scale_to_zero_after"]);
    expect(
      refusals({ autoscale: { ...rps, scale_to_zero_after: "10m" } }).map((e) => e.path),
    ).toEqual(["min_instances"]);
  });

  it("may be removed by a change (null), and is validated in a change too", () => {
    expect(imagePatchSchema.parse({ autoscale: null })).toEqual({ autoscale: null });
    expect(imagePatchSchema.safeParse({ autoscale: { metric: "cpu", target: 0 } }).success).toBe(
      false,
    );
  });
});

describe("autoscaleSpecOf", () => {
  it("gives the decision its step and window", () => {
    expect(
      autoscaleSpecOf({
        metric: "cpu",
        target: 70,
        scale_up_step: "50%",
        scale_down_stabilization: "10s",
      }),
    ).toEqual({
      metric: "cpu",
      target: 70,
      scaleUpStep: { percent: 50 },
      scaleDownStabilizationMs: 10_000,
    });
    expect(
      autoscaleSpecOf({
        metric: "memory",
        target: 80,
        scale_up_step: 3,
        scale_down_stabilization: "5m",
      }).scaleUpStep,
    ).toEqual({ instances: 3 });
  });
});
