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
 * - `lockTimeoutMs`: a write in a group takes its row and quota locks only when they are free
 *   (it runs alone otherwise, see WriteAlone); any other lock (an image's event lock, a secret's)
 *   is waited for this long at most, then the group is rolled back and its writes run alone. It
 *   is below Postgres's deadlock_timeout (1 s): a group caught in a deadlock gives up before the
 *   other side is chosen to fail;
 * - `deadlineMs`: a group that has not ended by then (a statement lost on a dead connection)
 *   gives its turn to the next; its own writes are answered when it ends.
 */
export const writeBatchLimits = {
  inFlight: 1,
  size: 16,
  lockTimeoutMs: 250,
  deadlineMs: 2_000,
} as const;

export type WriteBatchLimits = { [K in keyof typeof writeBatchLimits]: number };

/**
 * Thrown by a write in a group, having only read, when it cannot go on without waiting for a
 * lock someone else holds: it leaves the group (which goes on) and runs alone at once.
 */
export class WriteAlone extends Error {
  constructor() {
    super("this write waits for a lock: it runs alone");
  }
}

/** A queued write: what no other write of its group may share (the image it writes). */
export type QueuedWrite = { readonly key: string };

/**
 * The next group from the queue, in arrival order: at most `size`, never two of one key (the
 * later ones wait for the next group: in one transaction they would not wait for each other's
 * row lock). The order within a group does not matter: its writes take their row locks only
 * when free (SKIP LOCKED), so they never wait for them, and two groups cannot deadlock on them.
 */
export function takeBatch<W extends QueuedWrite>(
  queue: readonly W[],
  size: number,
): { batch: W[]; rest: W[] } {
  const batch: W[] = [];
  const rest: W[] = [];
  const keys = new Set<string>();
  for (const write of queue) {
    if (batch.length < size && !keys.has(write.key)) {
      keys.add(write.key);
      batch.push(write);
    } else rest.push(write);
  }
  return { batch, rest };
}

type Entry = QueuedWrite & {
  readonly shared: (tx: Repositories) => Promise<unknown>;
  readonly alone: (tx: Repositories) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
};

/**
 * Runs writes in shared transactions (store.sharedTransaction), each answered as if it had run
 * alone. A write runs alone (its `alone` work, in a transaction of its own, outside the
 * `inFlight` count) when it threw WriteAlone in its group, or when its group was rolled back
 * (another write refused after it wrote, a lock not had in time, a deadlock): its answer is then
 * exactly what it would have had unbatched.
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
      let deadline: NodeJS.Timeout | undefined;
      let turnGiven = false;
      const giveTurn = () => {
        if (turnGiven) return;
        turnGiven = true;
        clearTimeout(deadline);
        inFlight -= 1;
        pump();
      };
      // Never what keeps the process alive (a group on a closed store ends by itself).
      deadline = setTimeout(giveTurn, limits.deadlineMs).unref();
      void runBatch(batch).then((alone) => {
        giveTurn();
        for (const entry of alone) store.transaction(entry.alone).then(entry.resolve, entry.reject);
      });
    }
  }

  /** Settles what committed or was refused; hands back the writes to run alone. */
  async function runBatch(batch: readonly Entry[]): Promise<readonly Entry[]> {
    try {
      const outcomes = await store.sharedTransaction(
        batch.map((entry) => entry.shared),
        limits.lockTimeoutMs,
      );
      const alone: Entry[] = [];
      for (const [index, outcome] of outcomes.entries()) {
        const entry = batch[index] as Entry;
        if (outcome.status === "committed") entry.resolve(outcome.value);
        else if (outcome.reason instanceof WriteAlone) alone.push(entry);
        else entry.reject(outcome.reason);
      }
      return alone;
    } catch (error) {
      if (error instanceof SharedTransactionRolledBack) return batch;
      for (const entry of batch) entry.reject(error);
      return [];
    }
  }

  return {
    /**
     * Runs a write in a transaction shared with others: `shared` there (it must not wait for
     * locks: WriteAlone when it would), `alone` in one of its own when it cannot go there.
     * `key` names what it writes: two writes of one key never share a transaction.
     */
    run<T>(
      key: string,
      works: {
        readonly shared: (tx: Repositories) => Promise<T>;
        readonly alone: (tx: Repositories) => Promise<T>;
      },
    ): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ key, ...works, resolve: resolve as (value: unknown) => void, reject });
        pump();
      });
    },
  };
}

export type WriteBatcher = ReturnType<typeof createWriteBatcher>;
