import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type AutoscaleInput, type AutoscaleSpec, decideScale, pruneHistory } from "./autoscale.ts";

const spec: AutoscaleSpec = {
  metric: "cpu",
  target: 70,
  scaleUpStep: { percent: 100 },
  scaleDownStabilizationMs: 300_000,
};

const input = (overrides: Partial<AutoscaleInput>): AutoscaleInput => ({
  spec,
  minInstances: 1,
  maxInstances: 10,
  current: 2,
  samples: [70, 70],
  history: [],
  now: 1_000_000,
  ...overrides,
});

describe("decideScale", () => {
  it("keeps the count inside the tolerance band (±10% of the target)", () => {
    expect(decideScale(input({ samples: [76, 77] }))).toMatchObject({
      desired: 2,
      reason: "within_tolerance",
    });
    expect(decideScale(input({ samples: [64, 63] })).desired).toBe(2);
    expect(decideScale(input({ samples: [80, 80] })).desired).toBe(3);
  });

  it("scales up to ceil(ready × value/target)", () => {
    expect(decideScale(input({ samples: [105, 105] }))).toEqual({
      desired: 3,
      reason: "scale_up",
      value: 105,
      recommendation: 3,
    });
  });

  it("limits a scale-up to the step (100%: doubling; a count: that many more; at least one)", () => {
    const hot = input({ current: 2, samples: [350, 350] });
    expect(decideScale(hot)).toMatchObject({
      desired: 4,
      reason: "scale_up_step_limited",
      recommendation: 10,
    });
    expect(decideScale({ ...hot, spec: { ...spec, scaleUpStep: { instances: 1 } } }).desired).toBe(
      3,
    );
    expect(decideScale({ ...hot, spec: { ...spec, scaleUpStep: { percent: 10 } } }).desired).toBe(
      3,
    );
  });

  it("never goes past max_instances, and says it is at the maximum", () => {
    expect(decideScale(input({ current: 10, samples: new Array(10).fill(200) }))).toMatchObject({
      desired: 10,
      reason: "at_max",
    });
    expect(decideScale(input({ current: 1, samples: [10] }))).toMatchObject({
      desired: 1,
      reason: "at_min",
    });
  });

  it("scales down only to the highest recommendation of the stabilization window", () => {
    const idle = input({ current: 4, samples: [10, 10, 10, 10] });
    expect(decideScale(idle)).toMatchObject({
      desired: 1,
      reason: "scale_down",
      recommendation: 1,
    });
    const recent = [{ at: idle.now - 100_000, instances: 3 }];
    expect(decideScale({ ...idle, history: recent })).toMatchObject({
      desired: 3,
      reason: "scale_down",
    });
    const stillHigh = [{ at: idle.now - 1_000, instances: 4 }];
    expect(decideScale({ ...idle, history: stillHigh })).toMatchObject({
      desired: 4,
      reason: "scale_down_stabilized",
    });
    const old = [{ at: idle.now - 300_001, instances: 4 }];
    expect(decideScale({ ...idle, history: old }).desired).toBe(1);
  });

  it("scales up at once, whatever the window holds", () => {
    const history = [{ at: 999_000, instances: 1 }];
    expect(decideScale(input({ current: 1, samples: [140], history })).desired).toBe(2);
  });

  it("changes nothing without any sample", () => {
    expect(decideScale(input({ samples: [undefined, undefined] }))).toEqual({
      desired: 2,
      reason: "no_samples",
      value: null,
      recommendation: 2,
    });
    expect(decideScale(input({ samples: [] })).desired).toBe(2);
  });

  it("assumes a missing sample at 0 going up and at the target going down (no flapping on a gap)", () => {
    // One hot instance, one without a sample: (100 + 0) / 2 = 50 → not a scale-up.
    expect(decideScale(input({ samples: [100, undefined] }))).toMatchObject({
      desired: 2,
      reason: "within_tolerance",
      value: 50,
    });
    // One idle instance, one without a sample: (0 + 70) / 2 = 35 → ceil(2 × 0.5) = 1.
    expect(decideScale(input({ samples: [0, undefined] }))).toMatchObject({
      desired: 1,
      value: 35,
    });
    // Three of four missing while idle: (10 + 3 × 70) / 4 = 55 → ceil(4 × 0.79) = 4: stays.
    expect(
      decideScale(input({ current: 4, samples: [10, undefined, undefined, undefined] })).desired,
    ).toBe(4);
  });

  it("brings a count outside the bounds back first", () => {
    expect(decideScale(input({ current: 0, minInstances: 1 }))).toMatchObject({
      desired: 1,
      reason: "below_min",
    });
    expect(decideScale(input({ current: 12 }))).toMatchObject({ desired: 10, reason: "above_max" });
  });

  it("reads requests per second per instance against the target", () => {
    const rps = { ...spec, metric: "requests_per_second" as const, target: 50 };
    expect(decideScale(input({ spec: rps, current: 1, samples: [120] })).desired).toBe(2);
    expect(decideScale(input({ spec: rps, current: 1, samples: [52] })).desired).toBe(1);
  });

  describe("properties", () => {
    const arbitraryInput = fc
      .record({
        min: fc.integer({ min: 0, max: 5 }),
        span: fc.integer({ min: 0, max: 10 }),
        current: fc.integer({ min: 0, max: 20 }),
        samples: fc.array(
          fc.option(fc.double({ min: 0, max: 500, noNaN: true }), { nil: undefined }),
          {
            maxLength: 20,
          },
        ),
        history: fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 1_000_000 }),
            instances: fc.integer({ min: 0, max: 20 }),
          }),
          { maxLength: 10 },
        ),
        target: fc.integer({ min: 1, max: 200 }),
      })
      .map(
        (value): AutoscaleInput => ({
          spec: { ...spec, target: value.target },
          minInstances: value.min,
          maxInstances: value.min + value.span,
          current: value.current,
          samples: value.samples,
          history: value.history,
          now: 1_000_000,
        }),
      );

    it("always lands within [min, max]", () => {
      fc.assert(
        fc.property(arbitraryInput, (value) => {
          const { desired } = decideScale(value);
          expect(desired).toBeGreaterThanOrEqual(value.minInstances);
          expect(desired).toBeLessThanOrEqual(value.maxInstances);
        }),
      );
    });

    it("inside the bounds, no samples means no change and a scale-up is at most the step", () => {
      fc.assert(
        fc.property(arbitraryInput, (value) => {
          if (value.current < value.minInstances || value.current > value.maxInstances) return;
          const { desired } = decideScale(value);
          if (value.samples.every((sample) => sample === undefined))
            expect(desired).toBe(value.current);
          expect(desired).toBeLessThanOrEqual(Math.max(value.current * 2, value.current + 1));
        }),
      );
    });

    it("is steady: the same samples twice in a row ask for nothing more the second time", () => {
      fc.assert(
        fc.property(arbitraryInput, (value) => {
          const first = decideScale(value);
          if (first.desired >= value.current) return;
          // After a scale-down, the window holds the recommendation: a second pass does not go lower.
          const second = decideScale({
            ...value,
            current: first.desired,
            history: [...value.history, { at: value.now, instances: first.recommendation }],
          });
          expect(second.desired).toBeGreaterThanOrEqual(
            Math.min(first.desired, first.recommendation),
          );
        }),
      );
    });
  });
});

describe("pruneHistory", () => {
  it("keeps only the window", () => {
    expect(
      pruneHistory(
        [
          { at: 1, instances: 3 },
          { at: 10, instances: 2 },
        ],
        15,
        10,
      ),
    ).toEqual([{ at: 10, instances: 2 }]);
  });
});
