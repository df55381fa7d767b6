import type { Store } from "../store/database.ts";
import type { Repositories } from "../store/repositories.ts";
import { SharedTransactionRolledBack } from "../store/shared-transaction.ts";

/**
 * How desired-state writes are grouped (group commit):
 * - `inFlight` shared transactions at most at once. A write that finds a free one starts at
 *   once (alone when nothing waits: no delay under light load); those arriving meanwhile wait
 *   and go together in the next. One at a time made the largest groups and the least CPU per
 *   write in `bench/api` (2.6-2.8 ms against 3.1-3.5 ms with 2 and 3.2 ms with 4);
 * - at most `size` writes in one;
 * - `lockTimeoutMs`: how long a shared transaction waits for a lock someone else holds before
 *   it gives up and its writes run on their own (outside `inFlight`), so that one image stuck
 *   behind a long transaction holds up its companions, and the writes queued behind them, for
 *   no longer. It is below Postgres's deadlock_timeout (1 s): a shared transaction caught in a
 *   deadlock gives up before the other side is chosen to fail.
 */
export const writeBatchLimits = { inFlight: 1, size: 16, lockTimeoutMs: 250 } as const;

export type WriteBatchLimits = { [K in keyof typeof writeBatchLimits]: number };

/** A queued write: the image it locks, and what it does in its transaction. */
export type QueuedWrite = { readonly key: number };

/**
 * The next group from the queue, in arrival order: at most `size`, never two of one key (the
 * later ones wait for the next group: in one transaction they would not wait for each other's
 * row lock), ordered by key, so that groups take their row locks in one order and cannot
 * deadlock each other.
 */
export function takeBatch<W extends QueuedWrite>(
  queue: readonly W[],
  size: number,
): { batch: W[]; rest: W[] } {
  const batch: W[] = [];
  const rest: W[] = [];
  const keys = new Set<number>();
  for (const write of queue) {
    if (batch.length < size && !keys.has(write.key)) {
      keys.add(write.key);
      batch.push(write);
    } else rest.push(write);
  }
  batch.sort((left, right) => left.key - right.key);
  return { batch, rest };
}

type Entry = QueuedWrite & {
  readonly work: (tx: Repositories) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
};

/**
 * Runs writes in shared transactions (store.sharedTransaction), each answered as if it had run
 * alone. When a shared transaction is rolled back (a write refused after it wrote, a lock not
 * had in time, a deadlock), each of its writes runs again in a transaction of its own, outside
 * the `inFlight` count: the answer is then exactly what the write would have had unbatched.
 */
export function createWriteBatcher(
  store: Pick<Store, "transaction" | "sharedTransaction">,
  limits: WriteBatchLimits = writeBatchLimits,
) {
  let queue: Entry[] = [];
  let inFlight = 0;

  function pump(): void {
    while (inFlight < limits.inFlight && queue.length > 0) {
      const { batch, rest } = takeBatch(queue, limits.size);
      queue = rest;
      inFlight += 1;
      void runBatch(batch).then((rolledBack) => {
        inFlight -= 1;
        pump();
        for (const entry of rolledBack)
          store.transaction(entry.work).then(entry.resolve, entry.reject);
      });
    }
  }

  /** Settles what committed or was refused; hands back the writes to run again alone. */
  async function runBatch(batch: readonly Entry[]): Promise<readonly Entry[]> {
    try {
      const outcomes = await store.sharedTransaction(
        batch.map((entry) => entry.work),
        limits.lockTimeoutMs,
      );
      for (const [index, outcome] of outcomes.entries()) {
        const entry = batch[index] as Entry;
        if (outcome.status === "committed") entry.resolve(outcome.value);
        else entry.reject(outcome.reason);
      }
      return [];
    } catch (error) {
      if (error instanceof SharedTransactionRolledBack) return batch;
      for (const entry of batch) entry.reject(error);
      return [];
    }
  }

  return {
    /** Runs `work` in a transaction shared with other writes; `key` is the image it locks. */
    run<T>(key: number, work: (tx: Repositories) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ key, work, resolve: resolve as (value: unknown) => void, reject });
        pump();
      });
    },
  };
}

export type WriteBatcher = ReturnType<typeof createWriteBatcher>;
