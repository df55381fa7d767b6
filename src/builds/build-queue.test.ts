import { describe, expect, it } from "vitest";
import { BuildAborted, type BuildJob, createBuildQueue } from "./build-queue.ts";

/** A run function whose builds end when the test says so (or when aborted). */
function controllableRuns() {
  const started: BuildJob[] = [];
  const finishers = new Map<string, () => void>();
  const key = (job: { imageId: number; generation: number }) => `${job.imageId}@${job.generation}`;
  const run = (job: BuildJob) =>
    new Promise<void>((resolve, reject) => {
      started.push(job);
      finishers.set(key(job), resolve);
      job.signal.addEventListener("abort", () => reject(job.signal.reason));
    });
  return {
    run,
    started,
    finish: (imageId: number, generation: number) =>
      finishers.get(key({ imageId, generation }))?.(),
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("createBuildQueue", () => {
  it("runs at most `concurrency` builds, first in first out", async () => {
    const runs = controllableRuns();
    const queue = createBuildQueue({ concurrency: 2, run: runs.run, onError: () => {} });
    queue.enqueue(1, 1);
    queue.enqueue(2, 1);
    queue.enqueue(3, 1);
    await tick();
    expect(runs.started.map((job) => job.imageId)).toEqual([1, 2]);
    expect(queue.size).toEqual({ queued: 1, running: 2 });
    runs.finish(2, 1);
    await tick();
    expect(runs.started.map((job) => job.imageId)).toEqual([1, 2, 3]);
  });

  it("builds an image once however often it is queued", async () => {
    const runs = controllableRuns();
    const queue = createBuildQueue({ concurrency: 1, run: runs.run, onError: () => {} });
    queue.enqueue(1, 1);
    queue.enqueue(2, 1);
    queue.enqueue(2, 1);
    queue.enqueue(1, 1);
    await tick();
    runs.finish(1, 1);
    await tick();
    runs.finish(2, 1);
    await tick();
    expect(runs.started.map((job) => `${job.imageId}@${job.generation}`)).toEqual(["1@1", "2@1"]);
  });

  it("aborts a build superseded by a newer generation and builds the newer one after it", async () => {
    const runs = controllableRuns();
    const queue = createBuildQueue({ concurrency: 1, run: runs.run, onError: () => {} });
    queue.enqueue(1, 1);
    await tick();
    queue.enqueue(1, 2);
    await tick();
    await tick();
    expect(runs.started[0]?.signal.reason).toEqual(new BuildAborted("superseded"));
    expect(runs.started.map((job) => `${job.imageId}@${job.generation}`)).toEqual(["1@1", "1@2"]);
  });

  it("cancel drops a queued build and waits for a running one to stop", async () => {
    const runs = controllableRuns();
    const queue = createBuildQueue({ concurrency: 1, run: runs.run, onError: () => {} });
    queue.enqueue(1, 1);
    queue.enqueue(2, 1);
    await tick();
    await queue.cancel(2);
    await queue.cancel(1);
    expect(queue.isBuilding(1)).toBe(false);
    await tick();
    expect(runs.started.map((job) => job.imageId)).toEqual([1]);
  });

  it("stop aborts running builds, starts nothing more, and reports no error for them", async () => {
    const runs = controllableRuns();
    const errors: unknown[] = [];
    const queue = createBuildQueue({
      concurrency: 1,
      run: runs.run,
      onError: (_, error) => errors.push(error),
    });
    queue.enqueue(1, 1);
    queue.enqueue(2, 1);
    await tick();
    await queue.stop();
    queue.enqueue(3, 1);
    await tick();
    expect(runs.started.map((job) => job.imageId)).toEqual([1]);
    expect(runs.started[0]?.signal.reason).toEqual(new BuildAborted("shutdown"));
    expect(errors).toEqual([]);
  });

  it("reports a build that threw and goes on with the next", async () => {
    const errors: Array<[number, unknown]> = [];
    const started: number[] = [];
    const queue = createBuildQueue({
      concurrency: 1,
      run: async (job) => {
        started.push(job.imageId);
        if (job.imageId === 1) throw new Error("disk full");
      },
      onError: (imageId, error) => errors.push([imageId, error]),
    });
    queue.enqueue(1, 1);
    queue.enqueue(2, 1);
    await tick();
    await tick();
    await tick();
    expect(started).toEqual([1, 2]);
    expect(errors).toEqual([[1, new Error("disk full")]]);
  });
});
