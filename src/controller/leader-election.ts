import type { Logger } from "../logger.ts";
import { type LeaderLock, LeadershipLostError } from "../store/sql-backend.ts";

/** One stretch of leadership: what to undo when it ends, and whether it still holds. */
export type LeaderTerm = {
  /**
   * Registers what to undo when the term ends: started in reverse order, then undone side by
   * side, each given what is left of the one deadline (the end waits no longer than that).
   * Registered once the term has ended (a `lead` still starting when stop came), it is undone
   * at once: nothing the term started outlives it.
   */
  defer(undo: (deadlineMs: number) => void | Promise<void>): void;
  /** False once the term ended (stop, or the lock was lost). */
  readonly active: boolean;
  /** Aborted when the term starts to end: a wait inside `lead` (a retry's pause) ends with it. */
  readonly signal: AbortSignal;
  /** The lease's fencing token for this term. */
  readonly epoch: number;
  /**
   * Resolves when a fresh check proves this process still leads in this term; rejects with
   * LeadershipLostError otherwise, and from the moment the term starts to end (stop, or the
   * lock lost), before the lock is even released: a reconcile still in flight then starts no
   * Docker write, also one that outlives stop's deadline. Every Docker write of the term waits
   * for it through `fence`.
   */
  confirm(): Promise<void>;
  /**
   * Runs one Docker write of this term: after `confirm()`, and only if the term still holds
   * once that round trip is back (a stop that began during it refuses the write too). The
   * term's end waits for the writes already started (up to its deadline) before it releases
   * the lock, so nothing this term started lands after its stop returned: a container or
   * network created then would be one nobody reconciles any more (fencing.ts).
   */
  fence<Result>(write: () => Promise<Result>): Promise<Result>;
};

export type LeaderElectionOptions = {
  readonly tryLock: () => Promise<LeaderLock | undefined>;
  /**
   * Starts leading; may take long (it waits for Docker), checking `term.active`. Stop waits for
   * a `lead` still running (up to its deadline), since it reads through what the caller closes
   * next (the store).
   */
  readonly lead: (term: LeaderTerm) => Promise<void>;
  readonly logger: Logger;
  /** How soon to try again when another process leads, or leading failed to start. */
  readonly retryMs?: number;
  /** Told when this process starts and stops leading (a metric). */
  readonly onLeading?: (leading: boolean) => void;
};

/** How long an undo registered after its term ended gets (it runs at once, on its own). */
const lateUndoDeadlineMs = 5_000;

/**
 * Runs `lead` while this process holds the leader lock (on the embedded database, always). A
 * lost lock (its database session ended) ends the term at once and the campaign starts again;
 * so does a `lead` that fails to start.
 */
export function runWhileLeading(options: LeaderElectionOptions): {
  stop(deadlineMs: number): Promise<void>;
} {
  const { logger } = options;
  const retryMs = options.retryMs ?? 2_000;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let lock: LeaderLock | undefined;
  let undos: Array<(deadlineMs: number) => void | Promise<void>> = [];
  let term = { active: false, ending: new AbortController() };
  /**
   * What may still touch the store after a term ended: `lead` calls still running (also one of
   * a term whose lock was lost, beside the next term's), undos registered late, and a term's
   * end still under way (a lost lock's). Stop waits for all of them, up to its deadline.
   */
  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    pending.add(work);
    void work.then(
      () => pending.delete(work),
      () => pending.delete(work),
    );
  };
  /** The Docker writes this term started and that have not settled yet. */
  let writesInFlight = new Set<Promise<unknown>>();

  const retryLater = () => {
    if (stopped) return;
    retryTimer = setTimeout(() => track(campaign()), retryMs);
    retryTimer.unref();
  };

  function stepDown(deadlineMs: number): Promise<void> {
    const ending = endTerm(deadlineMs);
    track(ending);
    return ending;
  }

  async function endTerm(deadlineMs: number): Promise<void> {
    // One deadline for the whole end: the undos, then the writes, get what is left of it, not a
    // fresh one. A pull on the wire held the controller's stop (an undo) to the deadline and
    // then the wait for writes to another, past serve's exit timer (the deadline plus 4 s):
    // exit 1, with the relay's last events unsent and the store left open.
    const endsAt = performance.now() + deadlineMs;
    const wasLeading = term.active;
    term.active = false;
    term.ending.abort();
    // Undos start in reverse order (each one's synchronous part, a source that stops feeding
    // the controller, runs before the controller's stop), then run side by side with what is
    // left. Undone one after the other, a slow one (an autoscaler round waiting on a router, a
    // monitor's sampling, an UNLISTEN on a slow session) left the controller's stop, undone
    // last, nothing of the deadline: its reconciles and Docker writes in flight were abandoned
    // at once. None holds the end past the deadline.
    const undoing = new Set<Promise<unknown>>();
    for (const undo of undos.splice(0).reverse()) {
      const work = undoSafely(undo, Math.max(0, endsAt - performance.now()));
      track(work);
      undoing.add(work);
    }
    await settled(undoing, Math.max(0, endsAt - performance.now()));
    await settled(writesInFlight, Math.max(0, endsAt - performance.now()));
    // An unlock with no answer (a partition) is left to finish, or to the session's end when
    // the store closes, past the deadline.
    if (lock !== undefined)
      await settled(new Set([lock.release()]), Math.max(0, endsAt - performance.now()));
    lock = undefined;
    if (wasLeading) options.onLeading?.(false);
  }

  /** One piece failing to stop (its database connection is gone) must not keep the rest up. */
  async function undoSafely(
    undo: (deadlineMs: number) => void | Promise<void>,
    deadlineMs: number,
  ): Promise<void> {
    try {
      await undo(deadlineMs);
    } catch (error) {
      logger.warn({ err: error }, "stopping part of the controller failed");
    }
  }

  async function campaign(): Promise<void> {
    if (stopped) return;
    try {
      lock = await options.tryLock();
    } catch (error) {
      // Stop closed the store under the query: nothing to retry.
      if (stopped) return;
      logger.warn({ err: error }, "leader election failed; retrying");
    }
    if (lock === undefined) {
      retryLater();
      return;
    }
    if (stopped) {
      // Granted while stop ran (its stepDown saw no lock): lead nothing after stop returned.
      await lock.release();
      lock = undefined;
      return;
    }
    const held = lock;
    logger.info({ epoch: held.epoch }, "leading: starting the controller");
    const current = { active: true, ending: new AbortController() };
    term = current;
    undos = [];
    const writes = new Set<Promise<unknown>>();
    writesInFlight = writes;
    options.onLeading?.(true);
    void held.lost.then(async () => {
      if (stopped || !current.active) return;
      logger.error({ epoch: held.epoch }, "leader lock lost: stopping the controller");
      await stepDown(5_000);
      track(campaign());
    });
    const ended = () => new LeadershipLostError(`the term at epoch ${held.epoch} ended`);
    const confirm = async () => {
      if (!current.active || stopped) throw ended();
      await held.confirm();
    };
    const running = options.lead({
      defer: (undo) => {
        if (current.active) undos.push(undo);
        else track(undoSafely(undo, lateUndoDeadlineMs));
      },
      get active() {
        return current.active && !stopped;
      },
      signal: current.ending.signal,
      epoch: held.epoch,
      confirm,
      fence: async (write) => {
        await confirm();
        // The term may have started to end while the check was on the wire.
        if (!current.active || stopped) throw ended();
        const started = write();
        writes.add(started);
        try {
          return await started;
        } finally {
          writes.delete(started);
        }
      },
    });
    track(running);
    try {
      await running;
    } catch (error) {
      // A lead cut short by the end of its term (stop closed what it read) failed by design.
      if (!current.active) return;
      logger.error({ err: error }, "controller failed to start");
      await stepDown(5_000);
      if (!stopped) retryLater();
    }
  }

  track(campaign());

  return {
    async stop(deadlineMs) {
      const endsAt = performance.now() + deadlineMs;
      stopped = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      await stepDown(deadlineMs);
      // A lock query or a lead still starting (its first list of Docker and the database on the
      // wire), a lost lock's step-down, an undo registered late: each reads through the store
      // the caller closes next, and would fail there after stop returned.
      while (pending.size > 0 && performance.now() < endsAt)
        await settled(new Set(pending), Math.max(0, endsAt - performance.now()));
    },
  };
}

/** Waits until every write in `writes` settled, or `deadlineMs` passed. */
async function settled(writes: ReadonlySet<Promise<unknown>>, deadlineMs: number): Promise<void> {
  if (writes.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, deadlineMs);
    timer.unref();
  });
  await Promise.race([Promise.allSettled([...writes]), deadline]);
  clearTimeout(timer);
}
