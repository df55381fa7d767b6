import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.ts";
import type { OutboxEventJson } from "./cloudevent.ts";

type Executor = Kysely<Database>;

export type PendingEvent = OutboxEventJson & { readonly seq: number };

/**
 * The relay's queries on the events table (the outbox). "Pending" means neither published nor
 * failed; the partial index events_unpublished serves the lookups.
 */
/**
 * The oldest pending rows in seq order, leaving out `inFlight` (a batch sent but not yet
 * marked). No high-water mark: a transaction that commits late with a lower seq is read by
 * the next batch, never skipped, and it cannot belong to a key with a later row already sent
 * (each image's events are written one transaction at a time; see appendEvents).
 */
export async function selectPendingEvents(
  executor: Executor,
  limit: number,
  inFlight: readonly number[] = [],
): Promise<PendingEvent[]> {
  let query = executor
    .selectFrom("events")
    .select([
      "seq",
      "id",
      "type",
      "subject",
      "image_id",
      "time",
      sql<string>`data::text`.as("dataJson"),
    ])
    .where("published_at", "is", null)
    .where("failed_at", "is", null)
    .orderBy("seq", "asc")
    .limit(limit);
  if (inFlight.length > 0) query = query.where("seq", "not in", [...inFlight]);
  const rows = await query.execute();
  return rows;
}

/** Marks rows published at the broker's acknowledgement time. */
export async function markPublished(
  executor: Executor,
  seqs: readonly number[],
  ackedAt: Date,
): Promise<void> {
  if (seqs.length === 0) return;
  await executor
    .updateTable("events")
    .set((eb) => ({
      published_at: ackedAt,
      publish_attempts: eb("publish_attempts", "+", 1),
      publish_error: null,
    }))
    .where("seq", "in", [...seqs])
    .execute();
}

/** A row the broker will never accept: out of the queue for good, with the reason. */
export async function markFailed(
  executor: Executor,
  seq: number,
  error: string,
  failedAt: Date,
): Promise<void> {
  await executor
    .updateTable("events")
    .set((eb) => ({
      failed_at: failedAt,
      publish_error: error,
      publish_attempts: eb("publish_attempts", "+", 1),
    }))
    .where("seq", "=", seq)
    .execute();
}

/** Counts a retriable failure on the rows that were tried; they stay pending. */
export async function recordAttempt(
  executor: Executor,
  seqs: readonly number[],
  error: string,
): Promise<void> {
  if (seqs.length === 0) return;
  await executor
    .updateTable("events")
    .set((eb) => ({ publish_attempts: eb("publish_attempts", "+", 1), publish_error: error }))
    .where("seq", "in", [...seqs])
    .execute();
}

export type Backlog = { readonly count: number; readonly oldest: Date | null };

/** How many events wait, and since when: one scan of the partial index. */
export async function readBacklog(executor: Executor): Promise<Backlog> {
  const row = await executor
    .selectFrom("events")
    .select([sql<number>`count(*)::int`.as("count"), sql<Date | null>`min(time)`.as("oldest")])
    .where("published_at", "is", null)
    .where("failed_at", "is", null)
    .executeTakeFirstOrThrow();
  return { count: Number(row.count), oldest: row.oldest === null ? null : new Date(row.oldest) };
}

/** Events still pending up to (and including) `seq`: what a flush waits for. */
export async function countPendingUpTo(executor: Executor, seq: number): Promise<number> {
  const row = await executor
    .selectFrom("events")
    .select(sql<number>`count(*)::int`.as("count"))
    .where("published_at", "is", null)
    .where("failed_at", "is", null)
    .where("seq", "<=", seq)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function maxEventSeq(executor: Executor): Promise<number> {
  const row = await executor
    .selectFrom("events")
    .select(sql<number | null>`max(seq)`.as("seq"))
    .executeTakeFirstOrThrow();
  return row.seq === null ? 0 : Number(row.seq);
}

/**
 * Deletes published events written before `cutoff`, in chunks so no statement runs long.
 * Pending and failed rows are never deleted: they are the only copy of an undelivered event.
 */
export async function prunePublishedEvents(
  executor: Executor,
  cutoff: Date,
  chunkSize = 5_000,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await executor
      .deleteFrom("events")
      .where(
        "seq",
        "in",
        executor
          .selectFrom("events")
          .select("seq")
          .where("published_at", "is not", null)
          .where("time", "<", cutoff)
          .orderBy("seq")
          .limit(chunkSize),
      )
      .executeTakeFirst();
    const count = Number(result.numDeletedRows);
    deleted += count;
    if (count < chunkSize) return deleted;
  }
}
