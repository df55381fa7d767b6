import { type BackoffPolicy, backoffDelay } from "../domain/backoff.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "../metrics/registry.ts";
import { eventsChannel } from "../store/channels.ts";
import type { Store } from "../store/database.ts";
import { type EventSink, PublishError } from "./event-sink.ts";
import { createRelayMetrics, type RelayMetrics } from "./relay-metrics.ts";
import { type PassResult, relayPass } from "./relay-pass.ts";

/** Publishing failed: 0.5 s doubling to 30 s, half to all of it (equal jitter). */
const relayBackoff: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

export type RelayOptions = {
  readonly store: Pick<Store, "events" | "claimPublisher" | "listen">;
  readonly sink: EventSink;
  readonly logger: Logger;
  /** The CloudEvents `source`, see eventSource(orchestratorId). */
  readonly source: string;
  /** The service's metrics; the relay registers its own on `registry`. */
  readonly metrics?: { readonly registry: Registry };
  /** Events per Kafka request. */
  readonly batchSize?: number;
  /** The safety poll, for a missed NOTIFY (or one from another process that died). */
  readonly pollIntervalMs?: number;
  /** How soon to try again when another process held the publish lock. */
  readonly busyRetryMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Published events older than this are deleted; undefined keeps them forever. */
  readonly retentionDays?: number;
  readonly pruneIntervalMs?: number;
};

export type Relay = {
  /**
   * Resolves once every event committed before the call is published (or failed for good);
   * rejects after `timeoutMs` (default 30 s) with the number still waiting.
   */
  flush(options?: { timeoutMs?: number }): Promise<void>;
  /** Deletes published events past the retention now; returns how many. */
  prune(): Promise<number>;
  /**
   * Stops taking work, publishes what is pending when Kafka is up (for at most `timeoutMs`,
   * default 5 s), abandons an unfinished batch (its rows stay pending), and disconnects the sink.
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
};

/** Resolves true when `promise` settles within `ms`, false otherwise; leaves no timer behind. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The outbox relay: delivers rows of the events table to the sink in seq order, at least once.
 * Wakes on NOTIFY and on a slow poll; one batch at a time (one request in flight), so every
 * image's events reach the broker in order; rows are marked published only after the broker
 * acknowledged them. A retriable failure leaves the rows pending and backs off (capped, with
 * jitter) before starting again from the oldest pending row; the rest of the service never
 * waits for it. The claim (relay-claim.ts) makes it safe with several processes on one Postgres.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { store, sink, source } = options;
  const logger = options.logger.child({ component: "event-relay" });
  const batchSize = options.batchSize ?? 500;
  const backoff = options.backoff ?? relayBackoff;
  const busyRetryMs = options.busyRetryMs ?? 1_000;
  const metrics: RelayMetrics | undefined =
    options.metrics === undefined
      ? undefined
      : createRelayMetrics(options.metrics.registry, () => store.events.backlog());
  const abort = new AbortController();

  let dirty = true;
  let stopRequested = false;
  let failures = 0;
  /** The back-off's step: as `failures`, but a broker's return starts it over. */
  let backoffStep = 0;
  let failingSince = 0;
  let sleeper: { resolve: () => void; wakeOnNotify: boolean } | undefined;
  const passListeners = new Set<() => void>();

  /** Wakes the loop; a backoff sleep is cut short only when `force`d (flush, stop). */
  const wake = (force = false) => {
    dirty = true;
    if (sleeper !== undefined && (force || sleeper.wakeOnNotify)) sleeper.resolve();
  };
  /** Sleeps `ms` (or until woken); `until`, when it resolves first, ends the sleep too. */
  const sleep = (
    ms: number | undefined,
    wakeOnNotify: boolean,
    until?: (signal: AbortSignal) => Promise<void>,
  ) =>
    new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => done(), ms);
      const ended = new AbortController();
      const done = () => {
        clearTimeout(timer);
        ended.abort();
        sleeper = undefined;
        resolve();
      };
      sleeper = { resolve: done, wakeOnNotify };
      void until?.(ended.signal).then(
        () => {
          if (!ended.signal.aborted) done();
        },
        () => {},
      );
    });

  /** Resolves when the broker, found away, is back (sinks that cannot tell: never). */
  const brokerBack =
    sink.brokerReturns === undefined
      ? undefined
      : async (signal: AbortSignal) => {
          await sink.brokerReturns?.(signal);
          logger.info("the event broker accepts connections again; publishing now");
          // A broker just back may still be electing leaders: short steps again, not 30 s.
          backoffStep = 0;
        };

  const pass = relayPass({ sink, source, batchSize, logger, metrics, signal: abort.signal });

  /** Runs a pass; "busy" when another relay holds the claim. */
  const drain = async (): Promise<PassResult> => {
    try {
      const result = await store.claimPublisher(pass);
      return result.claimed ? result.value : { kind: "busy" };
    } catch (error) {
      // The database (not Kafka) failed: same treatment, the rows are still there.
      return { kind: "retry", error: error as Error, pending: 0 };
    }
  };

  const loop = async () => {
    let healthy = true;
    while (!stopRequested) {
      if (!dirty) await sleep(undefined, true);
      if (stopRequested) break;
      dirty = false;
      const result = await drain();
      healthy = result.kind !== "retry";
      for (const listener of passListeners) listener();
      if (result.kind === "busy") {
        if (stopRequested) break;
        await sleep(busyRetryMs, false);
        dirty = true;
      } else if (result.kind === "retry") {
        if (stopRequested) break;
        const wait = backoffDelay(backoffStep + 1, backoff);
        const fields = {
          error: result.error.message,
          code: "code" in result.error ? result.error.code : result.error.name,
          attempt: failures + 1,
          retryInMs: wait,
        };
        if (failures === 0) {
          failingSince = Date.now();
          logger.error(
            fields,
            "event publishing failed; events wait in the database and will be retried",
          );
        } else {
          logger.warn(fields, "event publishing still failing");
        }
        failures += 1;
        backoffStep += 1;
        // A broker that was away and is back ends the back-off at once (within about a
        // second): the events follow it instead of waiting out up to 30 s. Only the sink's
        // failures wait for it: the database's end with its LISTEN coming back.
        await sleep(wait, false, result.error instanceof PublishError ? brokerBack : undefined);
        dirty = true;
      } else if (failures > 0) {
        logger.info(
          { failedAttempts: failures, outageMs: Date.now() - failingSince },
          "event publishing recovered",
        );
        failures = 0;
        backoffStep = 0;
      }
    }
    // Shutdown: one last drain (bounded by stop's timeout), unless publishing is failing.
    if (healthy && !abort.signal.aborted) await drain();
  };

  const prune = async () => {
    if (options.retentionDays === undefined) return 0;
    const cutoff = new Date(Date.now() - options.retentionDays * 86_400_000);
    const deleted = await store.events.prunePublished(cutoff);
    if (deleted > 0)
      logger.info({ deleted, cutoff: cutoff.toISOString() }, "published events pruned");
    return deleted;
  };
  const pruneQuietly = () => {
    prune().catch((error: unknown) =>
      logger.warn({ error: (error as Error).message }, "pruning published events failed"),
    );
  };

  // Back after a lost connection: the database answers again, so end a back-off sleep now.
  const unlisten = await store.listen(
    eventsChannel,
    () => wake(),
    () => wake(true),
  );
  const poll = setInterval(() => wake(), options.pollIntervalMs ?? 10_000);
  const pruneInterval = options.pruneIntervalMs ?? 3_600_000;
  const firstPrune = setTimeout(pruneQuietly, Math.min(30_000, pruneInterval));
  const prunePoll = setInterval(pruneQuietly, pruneInterval);
  for (const timer of [poll, firstPrune, prunePoll]) timer.unref();

  sink
    .connect()
    .then(() => logger.info("connected to the event broker"))
    .catch((error: unknown) =>
      logger.error(
        { error: (error as Error).message },
        "event broker unreachable at start; events wait in the database and will be retried",
      ),
    );
  const running = loop();

  let stopping: Promise<void> | undefined;
  return {
    flush: async ({ timeoutMs = 30_000 } = {}) => {
      const target = await store.events.maxSeq();
      const deadline = Date.now() + timeoutMs;
      wake(true);
      for (;;) {
        const pending = await store.events.countPendingUpTo(target);
        if (pending === 0) return;
        if (stopping !== undefined)
          throw new Error(`event relay stopped with ${pending} events unpublished`);
        if (Date.now() >= deadline) {
          throw new Error(`event relay flush timed out with ${pending} events unpublished`);
        }
        await new Promise<void>((resolve) => {
          const done = () => {
            passListeners.delete(done);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, Math.min(250, Math.max(0, deadline - Date.now())));
          passListeners.add(done);
        });
      }
    },
    prune,
    stop: ({ timeoutMs = 5_000 } = {}) => {
      stopping ??= (async () => {
        stopRequested = true;
        for (const timer of [poll, firstPrune, prunePoll]) clearInterval(timer);
        wake(true);
        if (!(await settlesWithin(running, timeoutMs))) {
          logger.warn({ timeoutMs }, "event relay stop timed out; unfinished batch stays pending");
          abort.abort();
          await running;
        }
        await unlisten().catch(() => {});
        await sink.disconnect().catch(() => {});
        metrics?.unregister();
      })();
      return stopping;
    },
  };
}
