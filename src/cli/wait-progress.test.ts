import { describe, expect, it } from "vitest";
import type { Image, Instance } from "../client/index.ts";
import {
  buildStepOf,
  isDone,
  progressLine,
  progressOf,
  progressText,
  summaryLines,
} from "./wait-progress.ts";

const target = { name: "web", imageId: 1, gone: false };
type Condition = Image["conditions"][number];
const condition = (
  type: Condition["type"],
  status: Condition["status"],
  reason: string,
  message = "",
): Condition => ({
  type,
  status,
  reason,
  message,
  last_transition_time: "2026-12-04T00:00:00Z",
});
const image = (fields: Partial<Image>) =>
  ({
    status: "ready",
    generation: 2,
    observed_generation: 2,
    desired_instances: 3,
    conditions: [],
    ...fields,
  }) as Image;
const instance = (observed_state: string, health = "unknown") =>
  ({ observed_state, health }) as Instance;
const plain = { tty: false, color: false };

describe("progressOf and progressText", () => {
  it("counts running, not unhealthy, instances against the desired count", () => {
    const progress = progressOf(
      target,
      image({ conditions: [condition("Ready", "False", "ScalingUp", "1 of 3 running")] }),
      [instance("running"), instance("running", "unhealthy"), instance("creating")],
      undefined,
    );
    expect(progressText(progress)).toBe("1/3 ready · ScalingUp: 1 of 3 running");
    expect(isDone(progress)).toBe(false);
  });

  it("names the build step while building, and only then", () => {
    const building = progressOf(target, image({ status: "building" }), [], "step 2/5 : RUN make");
    expect(progressText(building)).toBe("0/3 ready · building step 2/5 : RUN make");
    const built = progressOf(target, image({ status: "ready" }), [], "step 2/5 : RUN make");
    expect(built.step).toBeUndefined();
  });

  it("is done when Ready for the current generation, or gone when deleted", () => {
    const ready = image({ conditions: [condition("Ready", "True", "AllRunning")] });
    expect(isDone(progressOf(target, ready, [], undefined))).toBe(true);
    expect(isDone(progressOf(target, { ...ready, generation: 3 }, [], undefined))).toBe(false);
    const deleting = { ...target, gone: true };
    expect(progressText(progressOf(deleting, image({ status: "deleting" }), [], undefined))).toBe(
      "deleting",
    );
    expect(isDone(progressOf(deleting, undefined, [], undefined))).toBe(true);
  });

  it("marks lines, coloured only on a terminal", () => {
    const ready = progressOf(
      target,
      image({ conditions: [condition("Ready", "True", "AllRunning")] }),
      [instance("running"), instance("running"), instance("running")],
      undefined,
    );
    expect(progressLine(plain, ready, 5)).toBe("✓ web    3/3 ready · Ready");
    expect(progressLine({ tty: true, color: true }, ready)).toContain("\u001b[32m✓");
  });
});

describe("buildStepOf", () => {
  it("reads both builders' step lines", () => {
    expect(buildStepOf("Step 2/5 : RUN make")).toBe("step 2/5 : RUN make");
    expect(buildStepOf("#7 [2/5] RUN make")).toBe("step 2/5 : RUN make");
    expect(buildStepOf("#7 [build 3/4] COPY . .")).toBe("step 3/4 : COPY . .");
    expect(buildStepOf("#7 CACHED")).toBeUndefined();
    expect(buildStepOf(" ---> Running in 1234")).toBeUndefined();
  });
});

describe("summaryLines", () => {
  it("tables each image, then the totals", () => {
    const ready = progressOf(target, image({}), [instance("running")], undefined);
    const gone = progressOf({ name: "old", imageId: 2, gone: true }, undefined, [], undefined);
    expect(summaryLines([ready, gone], 12_400)).toEqual([
      "IMAGE   READY   STATUS",
      "web     1/3     ready",
      "old     -       deleted",
      "(1 applied, 1 deleted in 12s)",
    ]);
  });
});
