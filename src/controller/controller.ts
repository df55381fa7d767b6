import type { Logger } from "../logger.ts";
import { ReconcileError, type ReconcileResult } from "../reconcilers/image/reconcile-error.ts";
import type { ControllerMetrics } from "./controller-metrics.ts";
import type { KeySink } from "./sources/key-sink.ts";
import type { ResyncResult } from "./sources/resync.ts";
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
  readonly logger: Logger;
  readonly metrics: ControllerMetrics;
  /**
   * Resolves at once while the Docker engine answers; while it is away, once it is back (or the
   * signal aborts). Workers wait here instead of failing every key against a missing engine.
   */
  readonly engineReachable?: (signal: AbortSignal) => Promise<void>;
  /**
   * Whether a failed reconcile failed only because the engine is away: then the key waits for
   * the engine without counting a failure of its own (no growing back-off for the image).
   */
  readonly engineAway?: (error: unknown) => Promise<boolean>;
};

/**
 * The least time between two passes of one image that desired-state writes ask for
 * (`enqueueWritten`); other causes (Docker events, resyncs, failures) are not spaced.
 * A second, as Kubernetes' Job controller batches its pods' updates: the first write to a quiet
 * image is acted on at once, and a stream of writes to it costs one pass a second instead of one
 * per write (under bench/api's 32 busy images, most of a write's CPU was the passes it woke).
 */
export const writeSpacingMs = 1_000;

export type Controller = KeySink & {
  /** Lists everything once, queues it, then starts the workers. */
  start(): Promise<void>;
  /** Stops taking work and waits for in-flight keys (up to the deadline). */
  stop(deadlineMs: number): Promise<void>;
  /** Resolves when no key is queued, delayed work aside, and no worker is busy. */
  idle(): Promise<void>;
};

/**
 * The manager: a workqueue, N workers calling reconcile(key), and resyncs on request (sources
 * in ./sources/ ask for them and add keys). No worker starts before the first full list has
 * completed, so an empty cache can never look like "delete everything".
 */
export function createController(options: ControllerOptions): Controller {
  const { queue, logger, metrics } = options;
  let started = false;
  let stopping = false;
  let resyncRunning: Promise<void> | undefined;
  let resyncAgain = false;
  const workers: Array<Promise<void>> = [];
  const stopSignal = new AbortController();

  async function work(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      // A key taken while the engine is away waits here (holding only itself) until it is back.
      const reachable = options.engineReachable?.(stopSignal.signal);
      if (reachable !== undefined) {
        metrics.waitingForEngine.inc();
        await reachable.finally(() => metrics.waitingForEngine.dec());
      }
      if (stopping) {
        queue.done(key);
        continue;
      }
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
        for (const other of result.wake ?? []) queue.add(other);
      } catch (error) {
        if (error instanceof ReconcileError) for (const other of error.wake) queue.add(other);
        const engineAway = !stopping && (await options.engineAway?.(error)) === true;
        const reason = engineAway
          ? "EngineUnreachable"
          : error instanceof ReconcileError
            ? error.reason
            : "Error";
        metrics.reconcileDuration.observe(
          { result: "error" },
          (performance.now() - started) / 1000,
        );
        metrics.reconcileErrors.inc({ reason });
        if (engineAway) {
          // The engine watch said it once; the key runs again as soon as the engine is back.
          logger.debug({ imageId: key, err: error }, "reconcile waits for the docker engine");
          queue.add(key);
        } else if (!stopping) {
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

  return {
    async start() {
      const keys = await options.listAllKeys();
      // Stopped while the list was on the wire (it outlived stop's deadline): nothing to start.
      if (stopping) return;
      for (const key of keys) queue.add(key);
      started = true;
      for (let index = 0; index < options.workers; index++) workers.push(work());
      logger.info({ keys: keys.length, workers: options.workers }, "controller started");
    },
    enqueue(imageId) {
      queue.add(imageId);
    },
    enqueueWritten(imageId) {
      queue.addSpaced(imageId, writeSpacingMs);
    },
    enqueueAfter(imageId, delayMs) {
      queue.addAfter(imageId, delayMs);
    },
    requestResync,
    async stop(deadlineMs) {
      stopping = true;
      stopSignal.abort();
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
