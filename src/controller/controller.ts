import type { Logger } from "../logger.ts";
import { ReconcileError, type ReconcileResult } from "../reconcilers/image/reconciler.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { ResyncResult } from "./resync.ts";
import type { WorkQueue } from "./workqueue.ts";

export type ControllerOptions = {
  readonly queue: WorkQueue<number>;
  readonly workers: number;
  readonly reconcile: (imageId: number) => Promise<ReconcileResult>;
  /** Every key that exists (database and Docker): the first full list. */
  readonly listAllKeys: () => Promise<number[]>;
  /** A full pass that returns only the keys needing work. */
  readonly resync: () => Promise<ResyncResult>;
  /** Removes containers that carry our label but belong to no image. */
  readonly removeUnowned: (containerIds: readonly string[]) => Promise<void>;
  readonly resyncIntervalMs: number;
  readonly logger: Logger;
  readonly metrics: ControllerMetrics;
};

export type Controller = {
  /** Lists everything once, queues it, then starts the workers and the periodic resync. */
  start(): Promise<void>;
  enqueue(imageId: number): void;
  enqueueAfter(imageId: number, delayMs: number): void;
  /** Asks for a full resync soon (coalesced). */
  requestResync(): void;
  /** Stops taking work and waits for in-flight keys (up to the deadline). */
  stop(deadlineMs: number): Promise<void>;
  /** Resolves when no key is queued, delayed work aside, and no worker is busy. */
  idle(): Promise<void>;
};

/**
 * The manager: a workqueue, N workers calling reconcile(key), and the periodic resync. No
 * worker starts before the first full list has completed, so an empty cache can never look
 * like "delete everything".
 */
export function createController(options: ControllerOptions): Controller {
  const { queue, logger, metrics } = options;
  let started = false;
  let stopping = false;
  let resyncTimer: NodeJS.Timeout | undefined;
  let resyncRunning: Promise<void> | undefined;
  let resyncAgain = false;
  const workers: Array<Promise<void>> = [];

  async function work(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      logger.debug({ imageId: key }, "reconcile started");
      try {
        const result = await options.reconcile(key);
        logger.debug(
          { imageId: key, ms: Math.round(performance.now() - started) },
          "reconcile done",
        );
        queue.forget(key);
        metrics.reconcileDuration.observe(
          { result: "success" },
          (performance.now() - started) / 1000,
        );
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        const reason = error instanceof ReconcileError ? error.reason : "Error";
        metrics.reconcileDuration.observe(
          { result: "error" },
          (performance.now() - started) / 1000,
        );
        metrics.reconcileErrors.inc({ reason });
        if (!stopping) {
          const delayMs = queue.addRateLimited(key);
          logger.warn(
            { imageId: key, reason, err: error, retryInMs: delayMs, failures: queue.failures(key) },
            "reconcile failed",
          );
        }
      } finally {
        queue.done(key);
      }
    }
  }

  async function runResync(): Promise<void> {
    const startedAt = performance.now();
    const result = await options.resync();
    metrics.resyncDuration.observe((performance.now() - startedAt) / 1000);
    for (const key of result.keys) queue.add(key);
    if (result.unowned.length > 0) await options.removeUnowned(result.unowned);
    logger.debug(
      {
        images: result.images,
        containers: result.containers,
        queued: result.keys.length,
        queries: result.queries,
      },
      "resync done",
    );
  }

  function requestResync(): void {
    if (!started || stopping) return;
    if (resyncRunning !== undefined) {
      resyncAgain = true;
      return;
    }
    resyncRunning = runResync()
      .catch((error: unknown) => logger.warn({ err: error }, "resync failed"))
      .finally(() => {
        resyncRunning = undefined;
        if (resyncAgain) {
          resyncAgain = false;
          requestResync();
        }
      });
  }

  function schedulePeriodicResync(): void {
    if (stopping) return;
    const jitter = 1 + (Math.random() * 0.2 - 0.1);
    resyncTimer = setTimeout(() => {
      requestResync();
      schedulePeriodicResync();
    }, options.resyncIntervalMs * jitter);
    resyncTimer.unref();
  }

  return {
    async start() {
      const keys = await options.listAllKeys();
      for (const key of keys) queue.add(key);
      started = true;
      for (let index = 0; index < options.workers; index++) workers.push(work());
      schedulePeriodicResync();
      logger.info({ keys: keys.length, workers: options.workers }, "controller started");
    },
    enqueue(imageId) {
      queue.add(imageId);
    },
    enqueueAfter(imageId, delayMs) {
      queue.addAfter(imageId, delayMs);
    },
    requestResync,
    async stop(deadlineMs) {
      stopping = true;
      if (resyncTimer !== undefined) clearTimeout(resyncTimer);
      queue.shutDown();
      const deadline = new Promise<"timeout">((resolve) =>
        setTimeout(() => resolve("timeout"), deadlineMs).unref(),
      );
      const finished = await Promise.race([
        Promise.all(workers).then(() => "done" as const),
        deadline,
      ]);
      if (finished === "timeout")
        logger.warn("in-flight reconciles abandoned at shutdown; the next start resumes them");
      await resyncRunning;
    },
    async idle() {
      while (queue.length > 0 || queue.processingCount > 0 || resyncRunning !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}
