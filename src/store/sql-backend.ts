import type { Dialect } from "kysely";

/** A statement runner inside one transaction, able to run multi-statement scripts. */
export type ScriptTransaction = {
  /** Runs a script of one or more statements (no parameters). */
  exec(script: string): Promise<void>;
  query<Row>(text: string, parameters?: readonly unknown[]): Promise<readonly Row[]>;
};

export type NotificationHandler = (payload: string) => void;

/**
 * The narrow seam between the store and a Postgres driver. Two implementations:
 * PGlite (embedded, one process) and postgres.js (a server).
 */
export type SqlBackend = {
  readonly kind: "pglite" | "postgres";
  readonly dialect: Dialect;
  /** Runs `work` in one transaction on one connection, for migrations. */
  scriptTransaction<T>(work: (transaction: ScriptTransaction) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel; resolves once listening; returns the unsubscribe function.
   * The subscription outlives a lost connection: once it listens again, `onResubscribed` is
   * called (notifications sent meanwhile were missed, so whoever listens should look again).
   */
  listen(
    channel: string,
    handler: NotificationHandler,
    onResubscribed?: () => void,
  ): Promise<() => Promise<void>>;
  /**
   * Takes the leader lock of `lease` on a dedicated session (an advisory lock), and bumps the
   * lease's epoch. Undefined when another session holds it.
   */
  tryLeaderLock(lease: LeaseRequest): Promise<LeaderLock | undefined>;
  close(): Promise<void>;
};

export type LeaseRequest = {
  /** The advisory lock key. */
  readonly key: number;
  /** The row in `leader_leases` whose epoch is the fencing token. */
  readonly name: string;
  /** Who holds it, for people reading the table (host and pid). */
  readonly holder: string;
};

export type LeaderLock = {
  /** The fencing token: greater than the epoch of every earlier holder of this lease. */
  readonly epoch: number;
  /** Settles once the lock is known to be gone (its session ended, or a check failed). */
  readonly lost: Promise<void>;
  /**
   * Resolves when a check that started after this call found the lock still held by this
   * session and the epoch still current; rejects with LeadershipLostError otherwise (and
   * `lost` settles). A check that gets no answer in time counts as lost.
   */
  confirm(): Promise<void>;
  release(): Promise<void>;
};

/** The leader lock is gone: a write that needed it must not happen. */
export class LeadershipLostError extends Error {
  override name = "LeadershipLostError";
}
