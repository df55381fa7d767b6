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

export type BuildQueueOptions = {
  readonly concurrency: number;
  readonly run: (job: BuildJob) => Promise<void>;
  readonly onError: (imageId: number, error: unknown) => void;
};

type Running = {
  readonly generation: number;
  readonly controller: AbortController;
  readonly done: Promise<void>;
};

/**
 * Builds, apart from reconciliation: at most `concurrency` at once, one per image, queued
 * first in first out. Queuing an image again is free; queuing a newer generation of an image
 * being built aborts that build (superseded) and builds the newer one after it.
 */
export function createBuildQueue(options: BuildQueueOptions) {
  const queued = new Map<number, number>();
  const running = new Map<number, Running>();
  let stopped = false;

  function pump(): void {
    if (stopped) return;
    for (const [imageId, generation] of queued) {
      if (running.size >= options.concurrency) return;
      if (running.has(imageId)) continue;
      queued.delete(imageId);
      start(imageId, generation);
    }
  }

  function start(imageId: number, generation: number): void {
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
    running.set(imageId, { generation, controller, done });
  }

  return {
    /** Asks for a build of `imageId` at `generation` (or later); never waits for it. */
    enqueue(imageId: number, generation: number): void {
      if (stopped) return;
      const current = running.get(imageId);
      if (current !== undefined && generation <= current.generation) return;
      if (current !== undefined) current.controller.abort(new BuildAborted("superseded"));
      queued.set(imageId, Math.max(generation, queued.get(imageId) ?? generation));
      pump();
    },
    /** Drops a queued build and aborts a running one; resolves once it has ended. */
    async cancel(imageId: number): Promise<void> {
      queued.delete(imageId);
      const current = running.get(imageId);
      if (current === undefined) return;
      current.controller.abort(new BuildAborted("cancelled"));
      await current.done;
    },
    /** No more builds start; running ones are aborted (they resume at the next start). */
    async stop(): Promise<void> {
      stopped = true;
      queued.clear();
      const all = [...running.values()];
      for (const current of all) current.controller.abort(new BuildAborted("shutdown"));
      await Promise.all(all.map((current) => current.done));
    },
    isBuilding(imageId: number): boolean {
      return running.has(imageId);
    },
    get size(): { readonly queued: number; readonly running: number } {
      return { queued: queued.size, running: running.size };
    },
  };
}

export type BuildQueue = ReturnType<typeof createBuildQueue>;
