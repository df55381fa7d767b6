import { type BackoffPolicy, backoffDelay } from "../domain/backoff.ts";

/**
 * A work queue of keys, after client-go's: a key waits in the queue at most once (duplicates
 * collapse), is handed to one worker at a time, and when it is added while being processed it
 * runs again once that worker is done. Failed keys come back with per-key exponential back-off
 * and jitter; delayed keys (requeue-after) wait on timers.
 */

/** Failed keys: 1 s doubling to 5 min, ±10%. */
export const reconcileBackoff: BackoffPolicy = {
  initialMs: 1_000,
  maxMs: 300_000,
  jitter: { low: 0.9, high: 1.1 },
};

export type WorkQueue<Key> = {
  add(key: Key): void;
  /** Adds the key after a delay; an earlier pending delay for the key wins. */
  addAfter(key: Key, delayMs: number): void;
  /**
   * Adds the key at once if no worker took it in the last `intervalMs`, else when that
   * interval is over: however often it is asked for, the key then runs at most once per
   * interval (plus what other adds ask), and a request that came during a run is not lost.
   */
  addSpaced(key: Key, intervalMs: number): void;
  /** Adds the key after its next back-off delay (one more failure). Returns the delay. */
  addRateLimited(key: Key): number;
  /** Forgets a key's failures (after a success). */
  forget(key: Key): void;
  failures(key: Key): number;
  /** Waits for the next key; undefined once shut down and drained. */
  get(): Promise<Key | undefined>;
  /** The worker finished the key; if it was re-added meanwhile, it goes back in the queue. */
  done(key: Key): void;
  shutDown(): void;
  readonly length: number;
  readonly processingCount: number;
  /** Keys whose last take addSpaced remembers: those taken within the longest interval asked. */
  readonly rememberedTakes: number;
  /** Milliseconds the oldest queued key has waited (0 when empty). */
  oldestAgeMs(): number;
  readonly isShuttingDown: boolean;
};

export function createWorkQueue<Key>(
  options: { backoff?: BackoffPolicy; random?: () => number; now?: () => number } = {},
): WorkQueue<Key> {
  const backoff = options.backoff ?? reconcileBackoff;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const queue: Key[] = [];
  const queuedAt = new Map<Key, number>();
  const dirty = new Set<Key>();
  const processing = new Set<Key>();
  const failureCounts = new Map<Key, number>();
  const timers = new Map<Key, { at: number; timer: NodeJS.Timeout }>();
  /** When a worker last took each key (for addSpaced), oldest first. */
  const takenAt = new Map<Key, number>();
  /**
   * The longest interval addSpaced was asked for: a take older than that spaces nothing, and is
   * forgotten (else every key ever taken stayed, a deleted image's too). Unknown until asked.
   */
  let longestSpacingMs: number | undefined;
  const forgetOldTakes = () => {
    if (longestSpacingMs === undefined) return;
    const before = now() - longestSpacingMs;
    for (const [key, at] of takenAt) {
      if (at > before) break;
      takenAt.delete(key);
    }
  };
  const waiters: Array<(key: Key | undefined) => void> = [];
  let shuttingDown = false;

  const hand = () => {
    while (waiters.length > 0 && queue.length > 0) {
      const key = queue.shift() as Key;
      const waiter = waiters.shift() as (key: Key | undefined) => void;
      processing.add(key);
      dirty.delete(key);
      queuedAt.delete(key);
      takenAt.delete(key); // to the end: the map stays in the order of the takes
      takenAt.set(key, now());
      waiter(key);
    }
    forgetOldTakes();
    if (shuttingDown && queue.length === 0) {
      for (const waiter of waiters.splice(0)) waiter(undefined);
    }
  };

  const add = (key: Key) => {
    if (shuttingDown || dirty.has(key)) return;
    dirty.add(key);
    if (processing.has(key)) return; // runs again after done()
    queue.push(key);
    queuedAt.set(key, now());
    hand();
  };

  const addAfter = (key: Key, delayMs: number) => {
    if (shuttingDown) return;
    if (delayMs <= 0) {
      add(key);
      return;
    }
    const at = now() + delayMs;
    const existing = timers.get(key);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      timers.delete(key);
      add(key);
    }, delayMs);
    timer.unref();
    timers.set(key, { at, timer });
  };

  const addSpaced = (key: Key, intervalMs: number) => {
    longestSpacingMs = Math.max(longestSpacingMs ?? 0, intervalMs);
    const last = takenAt.get(key);
    const wait = last === undefined ? 0 : last + intervalMs - now();
    if (wait <= 0) add(key);
    else addAfter(key, wait);
  };

  return {
    add,
    addAfter,
    addSpaced,
    addRateLimited(key) {
      const failures = (failureCounts.get(key) ?? 0) + 1;
      failureCounts.set(key, failures);
      const delay = backoffDelay(failures, backoff, random);
      addAfter(key, delay);
      return delay;
    },
    forget(key) {
      failureCounts.delete(key);
    },
    failures(key) {
      return failureCounts.get(key) ?? 0;
    },
    get() {
      if (queue.length === 0 && shuttingDown) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        waiters.push(resolve);
        hand();
      });
    },
    done(key) {
      processing.delete(key);
      if (dirty.has(key) && !shuttingDown) {
        queue.push(key);
        queuedAt.set(key, now());
        hand();
      }
    },
    shutDown() {
      shuttingDown = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      takenAt.clear();
      queue.splice(0);
      queuedAt.clear();
      dirty.clear();
      hand();
    },
    get length() {
      return queue.length;
    },
    get processingCount() {
      return processing.size;
    },
    get rememberedTakes() {
      return takenAt.size;
    },
    oldestAgeMs() {
      let oldest: number | undefined;
      for (const at of queuedAt.values()) oldest = oldest === undefined ? at : Math.min(oldest, at);
      return oldest === undefined ? 0 : now() - oldest;
    },
    get isShuttingDown() {
      return shuttingDown;
    },
  };
}
