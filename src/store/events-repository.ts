import { type Kysely, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { eventSubject, type NewEvent } from "../domain/events.ts";
import { jsonb } from "./json.ts";
import type { Database } from "./schema.ts";

export type EventRow = {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly subject: string;
  readonly image_id: number;
  readonly instance_id: string | null;
  readonly user_id: number;
  readonly time: Date;
  readonly data: Record<string, unknown>;
  readonly published_at: Date | null;
  readonly publish_attempts: number;
  readonly publish_error: string | null;
  readonly failed_at: Date | null;
};

/**
 * Appends events in the caller's transaction (the transactional outbox): they commit or vanish
 * together with the change they describe. Ids are UUID v7, so they sort by time too.
 */
export async function appendEvents(
  executor: Kysely<Database>,
  events: readonly NewEvent[],
): Promise<void> {
  if (events.length === 0) return;
  if (!executor.isTransaction) {
    await executor.transaction().execute((trx) => appendEvents(trx, events));
    return;
  }
  // One writer of an image's events at a time, until commit: an image's events then commit in
  // the order of their seq, which is the order the relay publishes them in (per Kafka key).
  const imageIds = [...new Set(events.map((event) => event.imageId))].sort(
    (left, right) => left - right,
  );
  for (const imageId of imageIds) {
    await sql`select pg_advisory_xact_lock(${eventLockNamespace}, ${imageId % 2_147_483_647}::int)`.execute(
      executor,
    );
  }
  await executor
    .insertInto("events")
    .values(
      events.map((event) => ({
        id: uuidv7(),
        type: event.type,
        subject: eventSubject(event),
        image_id: event.imageId,
        instance_id: event.instanceId ?? null,
        user_id: event.userId,
        data: jsonb(event.data as Record<string, unknown>),
      })),
    )
    .execute();
}

/** First key of the per-image event-writer lock (any constant; the second key is the image id). */
const eventLockNamespace = 724_602;

export type EventFilter = {
  /** Only this user's events; undefined for everyone (admin). */
  readonly userId?: number | undefined;
  readonly imageId?: number | undefined;
  readonly instanceId?: string | undefined;
  readonly types?: readonly string[] | undefined;
  readonly since?: Date | undefined;
  /** Cursor: events after this seq. */
  readonly afterSeq?: number | undefined;
  readonly limit: number;
};

export async function listEvents(db: Kysely<Database>, filter: EventFilter): Promise<EventRow[]> {
  let query = db.selectFrom("events").selectAll().orderBy("seq", "asc").limit(filter.limit);
  if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
  if (filter.imageId !== undefined) query = query.where("image_id", "=", filter.imageId);
  if (filter.instanceId !== undefined) query = query.where("instance_id", "=", filter.instanceId);
  if (filter.types !== undefined && filter.types.length > 0)
    query = query.where("type", "in", [...filter.types]);
  if (filter.since !== undefined) query = query.where("time", ">=", filter.since);
  if (filter.afterSeq !== undefined) query = query.where("seq", ">", filter.afterSeq);
  return (await query.execute()) as EventRow[];
}
