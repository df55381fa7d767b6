import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BuildAborted,
  type BuildJob,
  type BuildQueueOptions,
  createBuildQueue,
} from "./build-queue.ts";

/** Every image belongs to user 1, who may build as much as the queue allows. */
const oneUser: BuildQueueOptions["tenantOf"] = async () => ({ userId: 1, maxConcurrent: 100 });

/** Image ids say their owner: 101-199 are user 1's, 201-299 user 2's, and so on. */
const ownerByHundreds =
  (maxConcurrent = 100): BuildQueueOptions["tenantOf"] =>
  async (imageId) => ({ userId: Math.floor(imageId / 100), maxConcurrent });

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
    const queue = createBuildQueue({
      concurrency: 2,
      run: runs.run,
      onError: () => {},
      tenantOf: oneUser,
    });
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
    const queue = createBuildQueue({
      concurrency: 1,
      run: runs.run,
      onError: () => {},
      tenantOf: oneUser,
    });
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
    const queue = createBuildQueue({
      concurrency: 1,
      run: runs.run,
      onError: () => {},
      tenantOf: oneUser,
    });
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
    const queue = createBuildQueue({
      concurrency: 1,
      run: runs.run,
      onError: () => {},
      tenantOf: oneUser,
    });
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
      tenantOf: oneUser,
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
      tenantOf: oneUser,
    });
    queue.enqueue(1, 1);
    queue.enqueue(2, 1);
    await tick();
    await tick();
    await tick();
    expect(started).toEqual([1, 2]);
    expect(errors).toEqual([[1, new Error("disk full")]]);
  });

  it("takes turns between users: one user's many builds never starve another's one", async () => {
    const runs = controllableRuns();
    const queue = createBuildQueue({
      concurrency: 1,
      run: runs.run,
      onError: () => {},
      tenantOf: ownerByHundreds(),
    });
    for (const imageId of [101, 102, 103, 104]) queue.enqueue(imageId, 1);
    await tick();
    queue.enqueue(201, 1);
    await tick();
    for (const imageId of [101, 201, 102, 103]) {
      runs.finish(imageId, 1);
      await tick();
    }
    expect(runs.started.map((job) => job.imageId)).toEqual([101, 201, 102, 103, 104]);
  });

  it("never runs more of one user's builds than their quota, leaving room for others", async () => {
    const runs = controllableRuns();
    const queue = createBuildQueue({
      concurrency: 3,
      run: runs.run,
      onError: () => {},
      tenantOf: ownerByHundreds(1),
    });
    for (const imageId of [101, 102, 103, 201]) queue.enqueue(imageId, 1);
    await tick();
    expect(runs.started.map((job) => job.imageId)).toEqual([101, 201]);
    expect(queue.size).toEqual({ queued: 2, running: 2 });
    runs.finish(101, 1);
    await tick();
    expect(runs.started.map((job) => job.imageId)).toEqual([101, 201, 102]);
  });

  it("queues nothing for an image that is gone, and reports a failed owner lookup", async () => {
    const errors: unknown[] = [];
    const runs = controllableRuns();
    const queue = createBuildQueue({
      concurrency: 1,
      run: runs.run,
      onError: (_, error) => errors.push(error),
      tenantOf: async (imageId) => {
        if (imageId === 1) return undefined;
        throw new Error("database down");
      },
    });
    queue.enqueue(1, 1);
    queue.enqueue(2, 1);
    await tick();
    expect(runs.started).toEqual([]);
    expect(queue.size).toEqual({ queued: 0, running: 0 });
    expect(errors).toEqual([new Error("database down")]);
  });

  it("starts builds round-robin: users with work left never differ by more than one (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 30 }),
        async (owners) => {
          const runs = controllableRuns();
          const queue = createBuildQueue({
            concurrency: 1,
            run: runs.run,
            onError: () => {},
            tenantOf: ownerByHundreds(),
          });
          const counts = new Map<number, number>();
          for (const owner of owners) {
            const next = (counts.get(owner) ?? 0) + 1;
            counts.set(owner, next);
            queue.enqueue(owner * 100 + next, 1);
          }
          await tick();
          const started = new Map<number, number>();
          for (let index = 0; index < owners.length; index++) {
            const job = runs.started[index];
            if (job === undefined) break;
            const owner = Math.floor(job.imageId / 100);
            // Among the users that still had builds queued when this one started (the very
            // first start excepted: it began before the others had queued), nobody is ahead
            // of anybody by more than one.
            const waiting = [...counts.keys()].filter(
              (user) => (started.get(user) ?? 0) < (counts.get(user) ?? 0),
            );
            started.set(owner, (started.get(owner) ?? 0) + 1);
            const taken = waiting.map((user) => started.get(user) ?? 0);
            if (index > 0) expect(Math.max(...taken) - Math.min(...taken)).toBeLessThanOrEqual(1);
            runs.finish(job.imageId, 1);
            await tick();
          }
          expect(runs.started.length).toBe(owners.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("keeps every user within their limit and the queue within its width, and builds everything (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(), { minLength: 25, maxLength: 25 }),
        async (owners, concurrency, finishOrder) => {
          const runs = controllableRuns();
          const limitOf = (user: number) => 1 + (user % 2);
          const queue = createBuildQueue({
            concurrency,
            run: runs.run,
            onError: () => {},
            tenantOf: async (imageId) => {
              const userId = Math.floor(imageId / 100);
              return { userId, maxConcurrent: limitOf(userId) };
            },
          });
          for (const [index, owner] of owners.entries()) queue.enqueue(owner * 100 + index, 1);
          await tick();
          const finished = new Set<number>();
          for (let step = 0; finished.size < owners.length && step < 100; step++) {
            const running = runs.started.filter((job) => !finished.has(job.imageId));
            expect(running.length).toBeLessThanOrEqual(concurrency);
            expect(running.length).toBeGreaterThan(0);
            for (const user of new Set(owners)) {
              const mine = running.filter((job) => Math.floor(job.imageId / 100) === user);
              expect(mine.length).toBeLessThanOrEqual(limitOf(user));
            }
            const victim = running[(finishOrder[step % finishOrder.length] ?? 0) % running.length];
            if (victim === undefined) break;
            finished.add(victim.imageId);
            runs.finish(victim.imageId, 1);
            await tick();
          }
          expect(finished.size).toBe(owners.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});
