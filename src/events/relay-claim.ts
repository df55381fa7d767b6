import { type Kysely, sql } from "kysely";
import type { Store } from "../store/database.ts";
import type { Database } from "../store/schema.ts";

export type Claimed<T> =
  | { readonly claimed: true; readonly value: T }
  | { readonly claimed: false };

/** Runs one relay batch with the right to publish; `claimed: false` when another relay has it. */
export type Claim = <T>(work: (executor: Kysely<Database>) => Promise<T>) => Promise<Claimed<T>>;

/**
 * Who may publish, per backend.
 *
 * Postgres (several service processes may share the server): each batch runs in a transaction
 * that first takes a transaction-scoped advisory lock with pg_try_advisory_xact_lock. Only the
 * holder reads pending rows, publishes them and marks them in that same transaction, so the
 * claim and the marks are atomic: a relay that dies mid-batch (crash, lost connection) releases
 * the lock by rollback and its rows are still pending for the next holder. One publisher at a
 * time keeps every key's order across processes and sends nothing twice in the normal case.
 * The loser of the lock retries shortly. The lock is taken in its own statement so the select
 * after it (READ COMMITTED: a new snapshot) sees the marks of the previous holder.
 * (FOR UPDATE SKIP LOCKED was rejected: two relays would take interleaved rows of one key and
 * could publish them out of order.)
 *
 * PGlite (one process per data folder, one connection): nobody else can publish, and a
 * transaction held across a network round trip would stall every other query of the service,
 * so the batch runs without a transaction; the relay itself publishes one batch at a time.
 */
export function claimFor(store: Pick<Store, "db" | "kind">): Claim {
  if (store.kind === "pglite") {
    return async (work) => ({ claimed: true, value: await work(store.db) });
  }
  return (work) =>
    store.db.transaction().execute(async (transaction) => {
      const lock = await sql<{ locked: boolean }>`
        select pg_try_advisory_xact_lock(hashtext('orchestrator.event-relay')) as locked
      `.execute(transaction);
      if (lock.rows[0]?.locked !== true) return { claimed: false } as const;
      return { claimed: true, value: await work(transaction) } as const;
    });
}
