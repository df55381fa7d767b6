import { sql } from "kysely";
import { createEventsRepository, type EventsRepository } from "./events-repository.ts";
import type { Executor } from "./executor.ts";
import type { SqlBackend } from "./sql-backend.ts";

export type Claimed<T> =
  | { readonly claimed: true; readonly value: T }
  | { readonly claimed: false };

/**
 * Runs `work` (one relay pass) with the sole right to publish events; `claimed: false` when
 * another relay has it. Every query of the pass runs on the events repository it is handed.
 */
export type PublisherClaim = <T>(
  work: (events: EventsRepository) => Promise<T>,
) => Promise<Claimed<T>>;

/**
 * Who may publish, per backend.
 *
 * Postgres (several service processes may share the server): a pass reserves one connection and
 * takes a session advisory lock on it with pg_try_advisory_lock; only the holder reads pending
 * rows, publishes them, and marks them, all on that connection, and it unlocks at the end of the
 * pass. So a mark can only be written by the session that holds the lock: if the connection
 * dies, the lock goes with it and the marks fail, and the rows stay pending for the next holder
 * (the events are then published again: at-least-once). One publisher at a time keeps every
 * key's order across processes and sends nothing twice in the normal case; the other relay
 * finds the lock taken and tries again shortly. Marks are plain autocommit statements, so each
 * acknowledged batch is durable at once and no transaction stays open across Kafka round trips.
 * (FOR UPDATE SKIP LOCKED was rejected: two relays would take interleaved rows of one key and
 * could publish them out of order.)
 *
 * PGlite (one process per data folder, one connection): nobody else can publish, so there is no
 * lock; the relay itself runs one pass at a time.
 */
export function publisherClaim(db: Executor, kind: SqlBackend["kind"]): PublisherClaim {
  if (kind === "pglite") {
    const events = createEventsRepository(db);
    return async (work) => ({ claimed: true, value: await work(events) });
  }
  return (work) =>
    db.connection().execute(async (connection) => {
      const lock = await sql<{ locked: boolean }>`
        select pg_try_advisory_lock(hashtext('orchestrator.event-relay')) as locked
      `.execute(connection);
      if (lock.rows[0]?.locked !== true) return { claimed: false } as const;
      try {
        return { claimed: true, value: await work(createEventsRepository(connection)) } as const;
      } finally {
        // The connection goes back to the pool: it must not keep the lock. If this fails the
        // connection is broken, and the lock ended with its session.
        await sql`select pg_advisory_unlock(hashtext('orchestrator.event-relay'))`
          .execute(connection)
          .catch(() => {});
      }
    });
}
