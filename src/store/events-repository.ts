import { type RawBuilder, sql } from "kysely";
import { v7 as uuidv7 } from "uuid";
import { eventSubject, type NewEvent } from "../domain/events.ts";
import { type AuditAppend, auditRows, createAuditRepository } from "./audit-repository.ts";
import type { Executor } from "./executor.ts";
import { json, jsonb } from "./json.ts";
import { publishedRuns } from "./published-runs.ts";
import { bigintArray } from "./sql-arrays.ts";
import type { Together, TogetherCall } from "./together.ts";

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

/** A pending row as the relay sends it: `data` as the JSON text the database gave. */
export type PendingEvent = Pick<
  EventRow,
  "seq" | "id" | "type" | "subject" | "image_id" | "time"
> & {
  readonly dataJson: string;
};

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

export type Backlog = { readonly count: number; readonly oldest: Date | null };

/** First key of the per-image event-writer lock (any constant; the second key is the image id). */
const eventLockNamespace = 724_602;

/** The second key of an image's event lock: its id, folded into Postgres's int. */
const eventLockKey = (imageId: number) => imageId % 2_147_483_647;

/**
 * The event locks of the images these events are about, as their keys in ascending order:
 * every writer takes them in that one order, so two never wait on each other in a cycle (two
 * ids whose keys fold onto each other are one lock, taken once).
 */
export function eventLockKeys(events: readonly Pick<NewEvent, "imageId">[]): number[] {
  return [...new Set(events.map((event) => eventLockKey(event.imageId)))].sort(
    (left, right) => left - right,
  );
}

const lockOf = (key: number) => sql`pg_advisory_xact_lock(${eventLockNamespace}, ${key}::int)`;

function eventRow(event: NewEvent) {
  return {
    id: uuidv7(),
    type: event.type,
    subject: eventSubject(event),
    image_id: event.imageId,
    instance_id: event.instanceId ?? null,
    user_id: event.userId,
    data: event.data,
  };
}

/**
 * The audit records of the change they describe, the events and their queue rows (sql/0017),
 * in one statement; `locked` is a FROM item that takes the events' image locks (or the last of
 * them), so that the rows take their seq after.
 */
function appendStatement(
  locked: RawBuilder<unknown>,
  rows: ReadonlyArray<ReturnType<typeof eventRow>>,
  audits: ReadonlyArray<ReturnType<typeof auditRows>[number]>,
) {
  const audited =
    audits.length === 0
      ? sql``
      : sql`audited as (
          insert into audit_log (actor_user_id, actor, token_id, token_name, request_id, action,
            user_id, image_id, target, old_value, new_value)
          select given.actor_user_id, given.actor, given.token_id, given.token_name,
            given.request_id, given.action, given.user_id, given.image_id, given.target,
            coalesce(given.old_value, 'null'::jsonb), coalesce(given.new_value, 'null'::jsonb)
          from rows from (jsonb_to_recordset(${jsonb(audits)}) as (actor_user_id bigint,
            actor text, token_id bigint, token_name text, request_id text, action text,
            user_id bigint, image_id bigint, target text, old_value jsonb, new_value jsonb))
            with ordinality as given(actor_user_id, actor, token_id, token_name, request_id,
              action, user_id, image_id, target, old_value, new_value, position)
          order by given.position
        ),`;
  return sql`with ${audited} appended as (
      insert into events (id, type, subject, image_id, instance_id, user_id, data)
      select given.id, given.type, given.subject, given.image_id, given.instance_id,
        given.user_id, given.data
      from ${locked},
        rows from (json_to_recordset(${json(rows)}) as (id uuid, type text, subject text,
          image_id bigint, instance_id text, user_id bigint, data json))
          with ordinality as given(id, type, subject, image_id, instance_id, user_id, data, position)
      order by given.position
      returning seq
    )
    insert into events_pending (seq) select seq from appended`;
}

type Append = { readonly events: readonly NewEvent[]; readonly audit?: AuditAppend | undefined };

/**
 * Several works' appends (events.append) as one statement: every image's lock taken in the
 * order of its key in its FROM item (an aggregate, done before any row is inserted), then each
 * work's audit records and events, in the order of the works. The works go on once it is sent.
 */
function appendTogether(input: Append): TogetherCall<Append, undefined> {
  return {
    kind: "events.append",
    input,
    writes: true,
    // The works need nothing back: their next statements (the quota usage) follow it at once.
    sentIsEnough: true,
    runAll: async (inputs, db) => {
      const keys = eventLockKeys(inputs.flatMap(({ events }) => events));
      const lockEach = sql`pg_advisory_xact_lock(${eventLockNamespace}, key::int)`;
      await appendStatement(
        sql`(select count(${lockEach}) from unnest(${bigintArray(keys)}) as locking(key)) as locked`,
        inputs.flatMap(({ events }) => events.map(eventRow)),
        inputs.flatMap(({ audit }) => (audit === undefined ? [] : auditRows(audit))),
      ).execute(db);
      return inputs.map(() => undefined);
    },
  };
}

/** Rows deleted per statement when pruning, so no statement runs long. */
const pruneChunk = 5_000;

/**
 * The events table: the event log and the transactional outbox at once. "Pending" means
 * neither published nor failed: such an event has a row in events_pending, the relay's queue
 * (sql/0017), which this repository alone keeps in step with the events.
 */
/** With `together`, the appends of a shared transaction's works go as one statement. */
export function createEventsRepository(db: Executor, together?: Together) {
  /**
   * Deletes, chunk by chunk, the oldest rows `published` (or all) written before `cutoff`, with
   * their queue rows and the runs of events_published (sql/0024) that no longer hold an event.
   */
  async function pruneBefore(cutoff: Date, onlyPublished: boolean): Promise<number> {
    let deleted = 0;
    for (;;) {
      // Published: neither waiting in the queue nor failed.
      const published = onlyPublished
        ? sql`and failed_at is null
            and not exists (select from events_pending where events_pending.seq = events.seq)`
        : sql``;
      const result = await sql<{ count: number }>`
        with chunk as (
          select seq from events where time < ${cutoff} ${published} order by seq limit ${pruneChunk}
        ),
        bounds as (select min(seq) as low, max(seq) as high from chunk),
        unqueued as (delete from events_pending where seq in (select seq from chunk)),
        unrun as (
          delete from events_published as run
          using bounds
          where run.first_seq <= bounds.high and run.last_seq >= bounds.low
            and not exists (
              select from events
              where events.seq between run.first_seq and run.last_seq
                and events.seq not in (select seq from chunk)
            )
        ),
        removed as (delete from events where seq in (select seq from chunk) returning seq)
        select count(*)::int as count from removed
      `.execute(db);
      const count = Number(result.rows[0]?.count ?? 0);
      deleted += count;
      if (count < pruneChunk) return deleted;
    }
  }

  /**
   * Events as the rest of the service reads them: with when each was published, from the run of
   * events_published that holds its seq (sql/0024). Runs never overlap, so the one with the
   * greatest first_seq at or below the seq is the only candidate (one index probe a row).
   */
  const withPublication = () =>
    db
      .selectFrom("events")
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom("events_published")
            .select(["events_published.last_seq", "events_published.published_at"])
            .whereRef("events_published.first_seq", "<=", "events.seq")
            .orderBy("events_published.first_seq", "desc")
            .limit(1)
            .as("run"),
        (join) => join.onRef("run.last_seq", ">=", "events.seq"),
      )
      .select([
        "events.seq",
        "events.id",
        "events.type",
        "events.subject",
        "events.image_id",
        "events.instance_id",
        "events.user_id",
        "events.time",
        "events.data",
        "run.published_at",
        // The attempt that published counts too (publish_attempts holds those that did not).
        sql<number>`events.publish_attempts + (run.published_at is not null)::int`.as(
          "publish_attempts",
        ),
        sql<string | null>`case when run.published_at is null then events.publish_error end`.as(
          "publish_error",
        ),
        "events.failed_at",
      ]);

  const repository = {
    /**
     * Appends events in the caller's transaction (the transactional outbox): they commit or
     * vanish together with the change they describe. Ids are UUID v7, so they sort by time too.
     */
    async append(events: readonly NewEvent[], audit?: AuditAppend): Promise<void> {
      if (together !== undefined) {
        if (events.length > 0 || (audit?.entries.length ?? 0) > 0) {
          await together(appendTogether({ events, audit }));
        }
        return;
      }
      if (events.length === 0) {
        if (audit !== undefined) await createAuditRepository(db).append(audit.actor, audit.entries);
        return;
      }
      if (!db.isTransaction) {
        await db.transaction().execute((trx) => createEventsRepository(trx).append(events, audit));
        return;
      }
      // One writer of an image's events at a time, until commit: an image's events then commit
      // in the order of their seq, which is the order the relay publishes them in (per key).
      // The locks are taken in the order of their keys (eventLockKeys); the last in the
      // statement that inserts, before its rows take their seq.
      const keys = eventLockKeys(events);
      for (const key of keys.slice(0, -1)) await sql`select ${lockOf(key)}`.execute(db);
      await appendStatement(
        sql`(select ${lockOf(keys.at(-1) as number)}) as locked`,
        events.map(eventRow),
        audit === undefined ? [] : auditRows(audit),
      ).execute(db);
    },

    /** An image's newest `image.scaled` events written by the autoscaler, newest first. */
    async autoscalerDecisions(imageId: number, limit: number): Promise<EventRow[]> {
      return (await withPublication()
        .where("events.image_id", "=", imageId)
        .where("events.type", "=", "image.scaled")
        .where(sql<boolean>`(events.data -> 'metric') is not null`)
        .orderBy("events.seq", "desc")
        .limit(limit)
        .execute()) as EventRow[];
    },

    /**
     * Whether an event of `type` about the instance is in the log, written at `since` or later
     * when given (the image id and the time bound keep the search to an index range).
     */
    async hasInstanceEvent(
      imageId: number,
      instanceId: string,
      type: string,
      since?: Date,
    ): Promise<boolean> {
      let query = db
        .selectFrom("events")
        .select("seq")
        .where("image_id", "=", imageId)
        .where("instance_id", "=", instanceId)
        .where("type", "=", type);
      if (since !== undefined) query = query.where("time", ">=", since);
      return (await query.limit(1).executeTakeFirst()) !== undefined;
    },

    async list(filter: EventFilter): Promise<EventRow[]> {
      let query = withPublication().orderBy("events.seq", "asc").limit(filter.limit);
      if (filter.userId !== undefined) query = query.where("events.user_id", "=", filter.userId);
      if (filter.imageId !== undefined) query = query.where("events.image_id", "=", filter.imageId);
      if (filter.instanceId !== undefined)
        query = query.where("events.instance_id", "=", filter.instanceId);
      if (filter.types !== undefined && filter.types.length > 0)
        query = query.where("events.type", "in", [...filter.types]);
      if (filter.since !== undefined) query = query.where("events.time", ">=", filter.since);
      if (filter.afterSeq !== undefined) query = query.where("events.seq", ">", filter.afterSeq);
      return (await query.execute()) as EventRow[];
    },

    /**
     * The oldest pending rows in seq order, leaving out `inFlight` (a batch sent but not yet
     * marked). No high-water mark: a transaction that commits late with a lower seq is read by
     * the next batch, never skipped, and it cannot belong to a key with a later row already
     * sent (each image's events are written one transaction at a time; see append).
     */
    async selectPending(limit: number, inFlight: readonly number[] = []): Promise<PendingEvent[]> {
      const runs = publishedRuns(inFlight);
      // No batch in flight: below 1 and above 0, every seq.
      const [first, last] =
        runs.firsts.length === 0 ? [1, 0] : [runs.firsts[0] as number, runs.lasts[0] as number];
      // The first `limit` of the queue by its key, then those events by theirs. The in-flight
      // batch is usually one run of consecutive seqs (the head of the queue): then leaving it
      // out is the same as reading below and above it, two index ranges that skip it (~1 µs an
      // event less on PGlite than probing a list of 500); any other list is left out as a list.
      const head =
        runs.firsts.length <= 1
          ? sql`select seq from (
              (select seq from events_pending where seq < ${first}::bigint order by seq limit ${limit})
              union all
              (select seq from events_pending where seq > ${last}::bigint order by seq limit ${limit})
            ) as around order by seq limit ${limit}`
          : sql`select seq from events_pending
              where seq not in (select unnest(${bigintArray(inFlight)}))
              order by seq limit ${limit}`;
      const result = await sql<PendingEvent>`
        select seq, id, type, subject, image_id, time, data::text as "dataJson"
        from events
        where seq = any(array(${head}))
        order by seq
      `.execute(db);
      return result.rows;
    },

    /**
     * Marks rows published at the broker's acknowledgement time, in one statement: out of the
     * queue, and a row of events_published per run of consecutive seqs (sql/0024); the events
     * themselves are not written. The runs are those of `seqs` when every one of them was still
     * queued (the rule); otherwise (another relay marked some meanwhile) those of the rows this
     * statement took out of the queue, so no seq is ever in two runs.
     */
    async markPublished(seqs: readonly number[], ackedAt: Date): Promise<void> {
      if (seqs.length === 0) return;
      const runs = publishedRuns(seqs);
      await sql`
        with done as (
          delete from events_pending where seq = any(${bigintArray(seqs)}) returning seq
        ),
        whole as (select count(*) = ${runs.count} as all_done from done)
        insert into events_published (first_seq, last_seq, published_at)
        select run.first_seq, run.last_seq, ${ackedAt}::timestamptz
        from unnest(${bigintArray(runs.firsts)}, ${bigintArray(runs.lasts)})
          as run(first_seq, last_seq)
        where (select all_done from whole)
        union all
        select min(seq), max(seq), ${ackedAt}::timestamptz
        from (select seq, seq - row_number() over (order by seq) as island from done) as numbered
        where not (select all_done from whole)
        group by island
      `.execute(db);
    },

    /** A row the broker will never accept: out of the queue for good, with the reason. */
    async markFailed(seq: number, error: string, failedAt: Date): Promise<void> {
      await sql`
        with done as (delete from events_pending where seq = ${seq} returning seq)
        update events
        set failed_at = ${failedAt}, publish_error = ${error},
            publish_attempts = publish_attempts + 1
        where seq = ${seq} and seq in (select seq from done)
      `.execute(db);
    },

    /** Counts a retriable failure on the rows that were tried; they stay pending. */
    async recordAttempt(seqs: readonly number[], error: string): Promise<void> {
      if (seqs.length === 0) return;
      await db
        .updateTable("events")
        .set((eb) => ({ publish_attempts: eb("publish_attempts", "+", 1), publish_error: error }))
        .where("seq", "=", sql<number>`any(${bigintArray(seqs)})`)
        .execute();
    },

    /** How many events wait, and since when (the time of the first in line). */
    async backlog(): Promise<Backlog> {
      const row = await db
        .selectFrom("events_pending")
        .select([
          sql<number>`count(*)::int`.as("count"),
          sql<Date | null>`(select time from events where seq = (select min(seq) from events_pending))`.as(
            "oldest",
          ),
        ])
        .executeTakeFirstOrThrow();
      return {
        count: Number(row.count),
        oldest: row.oldest === null ? null : new Date(row.oldest),
      };
    },

    /** Events still pending up to (and including) `seq`: what a flush waits for. */
    async countPendingUpTo(seq: number): Promise<number> {
      const row = await db
        .selectFrom("events_pending")
        .select(sql<number>`count(*)::int`.as("count"))
        .where("seq", "<=", seq)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async maxSeq(): Promise<number> {
      const row = await db
        .selectFrom("events")
        .select(sql<number | null>`max(seq)`.as("seq"))
        .executeTakeFirstOrThrow();
      return row.seq === null ? 0 : Number(row.seq);
    },

    /**
     * Deletes published events written before `cutoff`. Pending and failed rows are never
     * deleted: they are the only copy of an undelivered event.
     */
    prunePublished: (cutoff: Date) => pruneBefore(cutoff, true),

    /** Deletes every event written before `cutoff` (when nothing publishes them). */
    pruneAll: (cutoff: Date) => pruneBefore(cutoff, false),
  };
  return repository;
}

export type EventsRepository = ReturnType<typeof createEventsRepository>;
