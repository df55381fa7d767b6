import type { Logger } from "../logger.ts";
import type { LeaderLock } from "../store/sql-backend.ts";

/** One stretch of leadership: what to undo when it ends, and whether it still holds. */
export type LeaderTerm = {
  /** Registers what to undo when the term ends; undone in reverse order, given the deadline. */
  defer(undo: (deadlineMs: number) => void | Promise<void>): void;
  /** False once the term ended (stop, or the lock was lost). */
  readonly active: boolean;
};

export type LeaderElectionOptions = {
  readonly tryLock: () => Promise<LeaderLock | undefined>;
  /** Starts leading; may take long (it waits for Docker), checking `term.active`. */
  readonly lead: (term: LeaderTerm) => Promise<void>;
  readonly logger: Logger;
  /** How soon to try again when another process leads, or leading failed to start. */
  readonly retryMs?: number;
};

/**
 * Runs `lead` while this process holds the leader lock (on the embedded database, always). A
 * lost lock (its database session ended) ends the term at once and the campaign starts again;
 * so does a `lead` that fails to start.
 */
export function runWhileLeading(options: LeaderElectionOptions): {
  stop(deadlineMs: number): Promise<void>;
} {
  const { logger } = options;
  const retryMs = options.retryMs ?? 5_000;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let lock: LeaderLock | undefined;
  let undos: Array<(deadlineMs: number) => void | Promise<void>> = [];
  let term = { active: false };

  const retryLater = () => {
    retryTimer = setTimeout(() => void campaign(), retryMs);
    retryTimer.unref();
  };

  async function stepDown(deadlineMs: number): Promise<void> {
    term.active = false;
    for (const undo of undos.splice(0).reverse()) await undo(deadlineMs);
    await lock?.release();
    lock = undefined;
  }

  async function campaign(): Promise<void> {
    if (stopped) return;
    try {
      lock = await options.tryLock();
    } catch (error) {
      logger.warn({ err: error }, "leader election failed; retrying");
    }
    if (lock === undefined) {
      retryLater();
      return;
    }
    logger.info("leading: starting the controller");
    const current = { active: true };
    term = current;
    undos = [];
    void lock.lost.then(async () => {
      if (stopped || !current.active) return;
      logger.error("leader lock lost (database session ended): stopping the controller");
      await stepDown(5_000);
      void campaign();
    });
    try {
      await options.lead({
        defer: (undo) => undos.push(undo),
        get active() {
          return current.active && !stopped;
        },
      });
    } catch (error) {
      logger.error({ err: error }, "controller failed to start");
      await stepDown(5_000);
      if (!stopped) retryLater();
    }
  }

  void campaign();

  return {
    async stop(deadlineMs) {
      stopped = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      await stepDown(deadlineMs);
    },
  };
}
