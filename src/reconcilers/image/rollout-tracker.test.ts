import { describe, expect, it } from "vitest";
import { createLogger } from "../../logger.ts";
import type { Store } from "../../store/database.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import { imageRecordFixture } from "./image-record-fixture.ts";
import { trackRollout } from "./rollout-tracker.ts";

const now = new Date("2026-01-01T00:00:00Z");

/** What a store holds of the image's rollout; any transaction (a write) fails the test. */
function storeWith(newestGeneration: number): ReconcilerDependencies["store"] {
  const rollouts = {
    findWithNewestRevision: async () => ({
      rollout: {
        image_id: 7,
        stable_revision: 1,
        from_revision: null,
        to_revision: 1,
        state: "complete",
        rollback: false,
        started_at: now,
        progressed_at: now,
        ready_new: 1,
        finished_at: now,
        message: "",
      },
      newest: { image_id: 7, revision: 2, generation: newestGeneration },
    }),
  };
  return {
    rollouts,
    transaction: () => {
      throw new Error("trackRollout wrote to the store");
    },
  } as unknown as Store;
}

describe("tracking a rollout after a pass", () => {
  it("leaves a revision written after the pass read the image to the next pass, writing nothing", async () => {
    const image = imageRecordFixture({}, { generation: 4, desired_instances: 1 });
    const outcome = await trackRollout(
      { store: storeWith(5) } as unknown as ReconcilerDependencies,
      image,
      { records: [], containers: [], desiredHash: "h-old", ready: true, now, reference: "web" },
      createLogger("silent"),
    );
    expect(outcome.row?.to_revision).toBe(1);
    expect(outcome.requeueAfterMs).toBe(0);
  });

  it("tracks a revision the pass read (its generation is the image's or older)", async () => {
    const image = imageRecordFixture({}, { generation: 5, desired_instances: 1 });
    await expect(
      trackRollout(
        { store: storeWith(5) } as unknown as ReconcilerDependencies,
        image,
        { records: [], containers: [], desiredHash: "h-new", ready: true, now, reference: "web" },
        createLogger("silent"),
      ),
    ).rejects.toThrow("trackRollout wrote to the store");
  });
});
