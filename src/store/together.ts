import type { Executor } from "./executor.ts";

/**
 * One statement for the works of a shared transaction (shared-transaction.ts) that take the same
 * step at once: the calls of one `kind` made in one turn of the event loop go as one statement,
 * run by `runAll` on the transaction, and each caller gets its own result. A group of count
 * writes runs the same steps side by side (lock, update, event, quota), so it costs one
 * statement a step instead of one a write. Repositories use it where they are given it (the
 * works of a shared transaction) and run their own statement otherwise.
 */
export type Together = <I, R>(call: TogetherCall<I, R>) => Promise<R>;

export type TogetherCall<I, R> = {
  /** Calls of one kind go together: one statement for several inputs. */
  readonly kind: string;
  readonly input: I;
  /** The one statement for all the inputs: a result for each, in their order. */
  readonly runAll: (inputs: readonly I[], db: Executor) => Promise<readonly R[]>;
  /** Whether the statement writes: each of its callers then counts as having written. */
  readonly writes: boolean;
  /**
   * The callers need nothing from it (an insert): they go on as soon as it is sent, so that
   * their next statement follows it down the connection at once, and the transaction waits for
   * it (`settled`) before it decides to commit. A failure still fails the transaction.
   */
  readonly sentIsEnough?: true;
  /**
   * Each caller's result is known before the statement runs (a count write of a row this
   * transaction holds locked: what the row becomes): the callers go on with it at once, as with
   * `sentIsEnough`, so that their next statements follow it down the connection without waiting
   * for it, and `runAll` fails (failing the transaction) where the statement gives anything else.
   */
  readonly knownResult?: (input: I) => R;
};

type Caller = {
  readonly input: unknown;
  readonly wrote: () => void;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
};

type Pending = {
  readonly runAll: (inputs: readonly unknown[], db: Executor) => Promise<readonly unknown[]>;
  readonly writes: boolean;
  readonly sentIsEnough: boolean;
  readonly knownResult: ((input: unknown) => unknown) | undefined;
  readonly callers: Caller[];
};

/**
 * The steps taken together in one transaction: `db` runs their statements (its failures are the
 * transaction's), and `forWork(wrote)` is what one work calls, `wrote` marking that work as
 * having written. Calls wait for the next turn of the event loop (setImmediate), by which time
 * every work that was ready in this one has made its own call of the step. `settled()` ends
 * when every statement sent so far has (those whose callers did not wait for them included).
 */
export function createTogether(
  db: Executor,
  /** Outside a transaction (lookupsTogether) no caller's failure is anyone else's to learn of. */
  inTransaction = true,
): {
  forWork: (wrote: () => void) => Together;
  settled: () => Promise<void>;
  /** The first failure of a statement taken together, if any: the transaction's failure. */
  unseenFailure: () => unknown;
} {
  const pending = new Map<string, Pending>();
  const running = new Set<Promise<void>>();
  let unseen: unknown;

  function run(kind: string): void {
    const batch = pending.get(kind);
    pending.delete(kind);
    if (batch === undefined) return;
    const ran = runBatch(kind, batch);
    running.add(ran);
    void ran.finally(() => running.delete(ran));
    // Sent: the statement is on the connection's queue once the microtasks that lead there
    // have run, before any statement a caller sends after this turn.
    if (batch.sentIsEnough) {
      for (const caller of batch.callers) caller.resolve(undefined);
    } else if (batch.knownResult !== undefined) {
      for (const caller of batch.callers) caller.resolve(batch.knownResult(caller.input));
    }
  }

  async function runBatch(kind: string, batch: Pending): Promise<void> {
    if (batch.writes) for (const caller of batch.callers) caller.wrote();
    try {
      const results = await batch.runAll(
        batch.callers.map((caller) => caller.input),
        db,
      );
      if (results.length !== batch.callers.length) {
        throw new Error(`${kind}: ${results.length} results for ${batch.callers.length} calls`);
      }
      for (const [index, caller] of batch.callers.entries()) caller.resolve(results[index]);
    } catch (error) {
      // The transaction's to learn of, so that it does not commit: the callers may have gone on
      // already (a promise settles only once), and one caller's bad input (an error before
      // anything was sent) would otherwise be every other caller's answer. Rolled back, each
      // work runs again alone and meets only its own errors.
      if (inTransaction) unseen ??= error;
      for (const caller of batch.callers) caller.reject(error);
    }
  }

  return {
    settled: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    unseenFailure: () => unseen,
    forWork:
      (wrote) =>
      <I, R>(call: TogetherCall<I, R>): Promise<R> =>
        new Promise<R>((resolve, reject) => {
          let batch = pending.get(call.kind);
          if (batch === undefined) {
            batch = {
              runAll: call.runAll as Pending["runAll"],
              writes: call.writes,
              sentIsEnough: call.sentIsEnough === true,
              knownResult: call.knownResult as Pending["knownResult"],
              callers: [],
            };
            pending.set(call.kind, batch);
            setImmediate(() => run(call.kind));
          }
          batch.callers.push({
            input: call.input,
            wrote,
            resolve: resolve as (value: unknown) => void,
            reject,
          });
        }),
  };
}

/**
 * On the store's pool, outside any transaction: the reads of one kind that requests ask for in
 * one turn of the event loop go as one statement (the tokens they present: each request's
 * lookup still reads the database, and a statement's failure is each of its callers'). For
 * reads only: a write taken together belongs in a transaction, whose commit waits for it.
 */
export function lookupsTogether(db: Executor): Together {
  return createTogether(db, false).forWork(() => {});
}

/** A step taken with the other works' where there are any (in a shared transaction), else alone. */
export async function step<I, R>(
  db: Executor,
  together: Together | undefined,
  call: TogetherCall<I, R>,
): Promise<R> {
  if (together !== undefined) return together(call);
  const [result] = await call.runAll([call.input], db);
  return result as R;
}
