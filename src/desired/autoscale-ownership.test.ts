import { describe, expect, it } from "vitest";
import { controllerActor } from "../domain/actor.ts";
import type { Autoscale } from "../domain/autoscale-spec.ts";
import { containerOptionDefaults } from "../domain/container-options.ts";
import { imageRecordFixture } from "../reconcilers/image/image-record-fixture.ts";
import { type ApplyDocument, withAutoscaledCount } from "./apply.ts";
import { DesiredStateError } from "./errors.ts";
import { type ImageChange, refuseManualScale } from "./image-writes.ts";

const autoscale: Autoscale = {
  metric: "cpu",
  target: 70,
  scale_up_step: "100%",
  scale_down_stabilization: "5m",
};

const autoscaled = imageRecordFixture(
  { autoscale },
  { min_instances: 1, max_instances: 5, desired_instances: 3 },
);

const change = (fields: Partial<ImageChange>): ImageChange => ({
  reason: "desired_instances_changed",
  action: "image.update",
  actor: controllerActor,
  bumpGeneration: true,
  ...fields,
});

function refusal(image: typeof autoscaled, fields: Partial<ImageChange>) {
  try {
    refuseManualScale(image, change(fields));
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("refuseManualScale", () => {
  it("refuses another writer's count while autoscale is on, naming the autoscaler", () => {
    const error = refusal(autoscaled, { columns: { desired_instances: 4 } });
    expect(error).toBeInstanceOf(DesiredStateError);
    expect(error).toMatchObject({
      code: "autoscaler_owns_desired_instances",
      extensions: { owner: "autoscaler", desired_instances: 3 },
      errors: [{ path: "desired_instances", message: "set by the autoscaler" }],
    });
    // The whole spec written again with autoscale kept (an apply, a PATCH of the limits).
    expect(
      refusal(autoscaled, {
        columns: {
          desired_instances: 1,
          container_options: { ...containerOptionDefaults, autoscale },
        },
      }),
    ).toBeInstanceOf(DesiredStateError);
  });

  it("lets through the autoscaler, a write that turns autoscale off, and unchanged counts", () => {
    expect(
      refusal(autoscaled, {
        columns: { desired_instances: 5 },
        autoscaler: { metric: "cpu", value: 140, target: 70 },
      }),
    ).toBeUndefined();
    expect(
      refusal(autoscaled, {
        columns: {
          desired_instances: 1,
          container_options: { ...containerOptionDefaults, autoscale: null },
        },
      }),
    ).toBeUndefined();
    expect(refusal(autoscaled, { columns: { desired_instances: 3 } })).toBeUndefined();
    expect(refusal(autoscaled, { columns: { env: { A: "1" } } })).toBeUndefined();
    expect(refusal(autoscaled, { markDeleting: true })).toBeUndefined();
  });

  it("lets new bounds carry the count into them, and nothing further", () => {
    expect(
      refusal(autoscaled, { columns: { max_instances: 2, desired_instances: 2 } }),
    ).toBeUndefined();
    expect(
      refusal(autoscaled, { columns: { min_instances: 4, desired_instances: 4 } }),
    ).toBeUndefined();
    expect(
      refusal(autoscaled, { columns: { max_instances: 2, desired_instances: 1 } }),
    ).toBeInstanceOf(DesiredStateError);
  });

  it("leaves images without autoscale alone, and turning it on may set the count", () => {
    const plain = imageRecordFixture({}, { max_instances: 5, desired_instances: 3 });
    expect(refusal(plain, { columns: { desired_instances: 5 } })).toBeUndefined();
    expect(
      refusal(plain, {
        columns: {
          desired_instances: 1,
          container_options: { ...containerOptionDefaults, autoscale },
        },
      }),
    ).toBeUndefined();
  });
});

describe("withAutoscaledCount", () => {
  const document = (fields: Partial<ApplyDocument>): ApplyDocument =>
    ({
      name: "shop",
      image: "shop:v1",
      min_instances: 1,
      max_instances: 5,
      desired_instances: 1,
      autoscale,
      desiredInstancesWritten: false,
      ...fields,
    }) as ApplyDocument;

  it("keeps the autoscaler's count when the document does not say one", () => {
    expect(withAutoscaledCount(autoscaled, document({})).desired_instances).toBe(3);
    expect(withAutoscaledCount(autoscaled, document({ max_instances: 2 })).desired_instances).toBe(
      2,
    );
  });

  it("takes the document's count when it says one, when there is no image yet, or no autoscale", () => {
    expect(
      withAutoscaledCount(autoscaled, document({ desiredInstancesWritten: true }))
        .desired_instances,
    ).toBe(1);
    expect(withAutoscaledCount(undefined, document({})).desired_instances).toBe(1);
    expect(withAutoscaledCount(autoscaled, document({ autoscale: null })).desired_instances).toBe(
      1,
    );
  });
});
