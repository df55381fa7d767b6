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
  /** Subscribes to a NOTIFY channel; resolves once listening; returns the unsubscribe function. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /**
   * Takes a session-level advisory lock on a dedicated connection, for leader election.
   * Undefined when another session holds it. `lost` settles if the connection dies.
   */
  tryLeaderLock(key: number): Promise<LeaderLock | undefined>;
  close(): Promise<void>;
};

export type LeaderLock = {
  readonly lost: Promise<void>;
  release(): Promise<void>;
};
