/** Why a running build was stopped before it ended; none of these is a build failure. */
export type BuildAbortCause = "superseded" | "cancelled" | "shutdown";

export class BuildAborted extends Error {
  override name = "BuildAborted";
  readonly abortCause: BuildAbortCause;
  constructor(abortCause: BuildAbortCause) {
    super(`build ${abortCause}`);
    this.abortCause = abortCause;
  }
}

export type BuildJob = {
  readonly imageId: number;
  /** The build generation the job was queued for (the image may have moved on since). */
  readonly generation: number;
  /** Aborted with a BuildAborted reason when superseded, cancelled or shut down. */
  readonly signal: AbortSignal;
};

/** Whose build it is, and how many builds that user may run at once. */
export type BuildTenant = { readonly userId: number; readonly maxConcurrent: number };

export type BuildQueueOptions = {
  /** Builds at once, all users together (BUILD_CONCURRENCY). */
  readonly concurrency: number;
  readonly run: (job: BuildJob) => Promise<void>;
  readonly onError: (imageId: number, error: unknown) => void;
  /**
   * The owner of an image and their limit of builds at once (their quota), looked up when the
   * image is queued; undefined when the image is gone (nothing is queued then).
   */
  readonly tenantOf: (imageId: number) => Promise<BuildTenant | undefined>;
};

type Running = {
  readonly generation: number;
  readonly userId: number;
  readonly controller: AbortController;
  readonly done: Promise<void>;
};

/**
 * Builds, apart from reconciliation: at most `concurrency` at once, one per image, and fair
 * between users. Each user has a lane of queued images (first in, first out); the lanes take
 * turns (round-robin: the user served least recently goes next), and a user never runs more
 * builds than their quota allows, so one user's twenty builds never starve another's one.
 * Queuing an image again is free; queuing a newer generation of an image being built aborts
 * that build (superseded) and builds the newer one after it.
 */
export function createBuildQueue(options: BuildQueueOptions) {
  /** userId → (imageId → generation), in the order users first queued. */
  const lanes = new Map<number, Map<number, number>>();
  /** Images whose owner is being looked up, with the generation asked for. */
  const awaitingTenant = new Map<number, number>();
  const limits = new Map<number, number>();
  /** When each user last had a build started (a turn counter): the least recent goes next. */
  const lastServed = new Map<number, number>();
  let turns = 0;
  const running = new Map<number, Running>();
  let stopped = false;

  const runningOf = (userId: number) =>
    [...running.values()].filter((build) => build.userId === userId).length;

  /**
   * The next build to start: the oldest queued image of the user served least recently among
   * those who may run one more (ties: who queued first).
   */
  function nextBuild(): { userId: number; imageId: number; generation: number } | undefined {
    let chosen: { userId: number; imageId: number; generation: number } | undefined;
    let chosenTurn = Number.POSITIVE_INFINITY;
    for (const [userId, lane] of lanes) {
      const turn = lastServed.get(userId) ?? -1;
      if (turn >= chosenTurn || runningOf(userId) >= (limits.get(userId) ?? 1)) continue;
      for (const [imageId, generation] of lane) {
        if (running.has(imageId)) continue;
        chosen = { userId, imageId, generation };
        chosenTurn = turn;
        break;
      }
    }
    return chosen;
  }

  function pump(): void {
    if (stopped) return;
    while (running.size < options.concurrency) {
      const next = nextBuild();
      if (next === undefined) return;
      const lane = lanes.get(next.userId);
      lane?.delete(next.imageId);
      if (lane?.size === 0) lanes.delete(next.userId);
      lastServed.set(next.userId, ++turns);
      start(next);
    }
  }

  function start(next: { userId: number; imageId: number; generation: number }): void {
    const { imageId, generation, userId } = next;
    const controller = new AbortController();
    const done = Promise.resolve()
      .then(() => options.run({ imageId, generation, signal: controller.signal }))
      .catch((error: unknown) => {
        if (!(error instanceof BuildAborted)) options.onError(imageId, error);
      })
      .finally(() => {
        running.delete(imageId);
        pump();
      });
    running.set(imageId, { generation, userId, controller, done });
  }

  function laneOf(imageId: number): Map<number, number> | undefined {
    for (const lane of lanes.values()) if (lane.has(imageId)) return lane;
    return undefined;
  }

  function place(imageId: number, generation: number, tenant: BuildTenant): void {
    limits.set(tenant.userId, tenant.maxConcurrent);
    const lane = lanes.get(tenant.userId) ?? new Map<number, number>();
    lane.set(imageId, Math.max(generation, lane.get(imageId) ?? generation));
    lanes.set(tenant.userId, lane);
    pump();
  }

  return {
    /** Asks for a build of `imageId` at `generation` (or later); never waits for it. */
    enqueue(imageId: number, generation: number): void {
      if (stopped) return;
      const current = running.get(imageId);
      if (current !== undefined && generation <= current.generation) return;
      if (current !== undefined) current.controller.abort(new BuildAborted("superseded"));
      const lane = laneOf(imageId);
      if (lane !== undefined) {
        lane.set(imageId, Math.max(generation, lane.get(imageId) ?? generation));
        pump();
        return;
      }
      const awaited = awaitingTenant.get(imageId);
      awaitingTenant.set(imageId, Math.max(generation, awaited ?? generation));
      if (awaited !== undefined) return;
      options.tenantOf(imageId).then(
        (tenant) => {
          const wanted = awaitingTenant.get(imageId);
          awaitingTenant.delete(imageId);
          // Cancelled (or stopped) meanwhile, or the image is gone: nothing to build.
          if (wanted === undefined || tenant === undefined || stopped) return;
          place(imageId, wanted, tenant);
        },
        (error: unknown) => {
          awaitingTenant.delete(imageId);
          options.onError(imageId, error);
        },
      );
    },
    /** Drops a queued build and aborts a running one; resolves once it has ended. */
    async cancel(imageId: number): Promise<void> {
      awaitingTenant.delete(imageId);
      for (const [userId, lane] of lanes) {
        lane.delete(imageId);
        if (lane.size === 0) lanes.delete(userId);
      }
      const current = running.get(imageId);
      if (current === undefined) return;
      current.controller.abort(new BuildAborted("cancelled"));
      await current.done;
    },
    /** No more builds start; running ones are aborted (they resume at the next start). */
    async stop(): Promise<void> {
      stopped = true;
      lanes.clear();
      awaitingTenant.clear();
      const all = [...running.values()];
      for (const current of all) current.controller.abort(new BuildAborted("shutdown"));
      await Promise.all(all.map((current) => current.done));
    },
    isBuilding(imageId: number): boolean {
      return running.has(imageId);
    },
    get size(): { readonly queued: number; readonly running: number } {
      let queued = awaitingTenant.size;
      for (const lane of lanes.values()) queued += lane.size;
      return { queued, running: running.size };
    },
  };
}

export type BuildQueue = ReturnType<typeof createBuildQueue>;
