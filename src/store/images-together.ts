import { sql } from "kysely";
import { sameCanonicalJson } from "../domain/spec-hash.ts";
import { imagesChannel } from "./channels.ts";
import { jsonb } from "./json.ts";
import { usageAndUserQuery } from "./quota-usage.ts";
import type { ImageRecord } from "./records.ts";
import { bigintArray } from "./sql-arrays.ts";
import type { TogetherCall } from "./together.ts";
import { tryLockRowUsersQuota } from "./users-repository.ts";

/**
 * The statements of a count write (a PATCH of instance counts, write-batches.ts) for several
 * writes at once (together.ts), each giving every write what its own statement would have:
 * the same rows, locks and changes. With one input each is an ordinary statement.
 */

/**
 * An image row as lockOwnedIfFree reads it: whether the user's quota lock was taken too, and
 * what a count write of it then becomes (expectedAfterCounts): when the transaction started
 * (its `now()`, which `updated_at` takes) and whether the image has a revision yet.
 */
export type LockedOwnedRow = ImageRecord & {
  readonly quota_locked: boolean;
  readonly transaction_started_at: Date;
  readonly has_revision: boolean;
};

type Owned = { readonly id: number; readonly userId: number };

/** An image row locked by lockOwnedIfFree, and what a count write of it needs to know. */
export type LockedImage = {
  readonly image: ImageRecord;
  /** The transaction's `now()`, which a write's `updated_at` takes. */
  readonly transactionStartedAt: Date;
  readonly hasRevision: boolean;
};

/** The image row apart from what the lock statement read beside it. */
export function lockedImageOf(row: LockedOwnedRow): LockedImage {
  const { quota_locked: _, transaction_started_at, has_revision, ...image } = row;
  return { image, transactionStartedAt: transaction_started_at, hasRevision: has_revision };
}

/**
 * Each image locked if it is its user's and nobody holds its row (FOR UPDATE SKIP LOCKED), and
 * that user's quota lock tried on each row found. Matched on both the id and the user, so that a
 * tenant naming another's image id gets nothing, even beside that image's owner.
 */
export function lockOwnedIfFreeTogether(
  input: Owned,
): TogetherCall<Owned, LockedOwnedRow | undefined> {
  return {
    kind: "images.lockOwnedIfFree",
    input,
    writes: false,
    runAll: async (inputs, db) => {
      // An id past what JavaScript holds exactly names no image (the API refuses it too).
      const valid = inputs.filter(
        ({ id, userId }) => Number.isSafeInteger(id) && Number.isSafeInteger(userId),
      );
      if (valid.length === 0) return inputs.map(() => undefined);
      const rows = await db
        .selectFrom("images")
        .selectAll()
        .select(tryLockRowUsersQuota.as("quota_locked"))
        .select(sql<Date>`now()`.as("transaction_started_at"))
        .select(hasRevision.as("has_revision"))
        .where(
          sql<boolean>`(images.id, images.user_id) in (select * from unnest(${bigintArray(
            valid.map((owned) => owned.id),
          )}, ${bigintArray(valid.map((owned) => owned.userId))}))`,
        )
        .forUpdate()
        .skipLocked()
        .execute();
      const byOwned = new Map(rows.map((row) => [`${row.id}/${row.user_id}`, row]));
      return inputs.map((owned) => byOwned.get(`${owned.id}/${owned.userId}`));
    },
  };
}

/** A user's usage and row, by a transaction holding the user's quota lock (usageAndUserQuery). */
export function usageWhileLockedTogether(
  userId: number,
): TogetherCall<number, Record<string, unknown>> {
  return {
    kind: "images.usageWhileLocked",
    input: userId,
    writes: false,
    runAll: async (userIds, db) => {
      // One statement per user in the group (sent together where the connection pipelines),
      // all ended before an answer, as runInOrder does.
      const distinct = [...new Set(userIds)];
      const settled = await Promise.allSettled(
        distinct.map((id) => usageAndUserQuery(db, id).executeTakeFirstOrThrow()),
      );
      const rows = settled.map((result) => {
        if (result.status === "rejected") throw result.reason;
        return result.value;
      });
      const byUser = new Map(distinct.map((id, index) => [id, rows[index]]));
      return userIds.map((id) => byUser.get(id) as Record<string, unknown>);
    },
  };
}

/** The columns a count write changes; one left out keeps its value. */
export type CountColumns = {
  readonly desired_instances?: number;
  readonly min_instances?: number;
  readonly max_instances?: number;
};

const countColumns = new Set(["desired_instances", "min_instances", "max_instances"]);

/** Whether these columns are instance counts only (and so a count write's). */
export function onlyCounts(columns: Readonly<Record<string, unknown>>): columns is CountColumns {
  return Object.keys(columns).every((column) => countColumns.has(column));
}

/** Whether the image of the row has any revision yet (desired/revisions.ts startsRevision). */
const hasRevision = sql<boolean>`exists (select 1 from image_revisions where image_revisions.image_id = images.id)`;

/** What a count write gives: the row after it, and whether its image has a revision. */
export type CountWritten = { readonly image: ImageRecord; readonly hasRevision: boolean };

type CountWrite = {
  readonly id: number;
  readonly columns: CountColumns;
  /** What the write gives, known from the row this transaction locked (expectedAfterCounts). */
  readonly expected?: CountWritten;
};

/**
 * What a count write of a row this transaction holds locked gives (writeCountsTogether's
 * UPDATE): the counts written, `resource_version` (and `generation`) one up, `updated_at` the
 * transaction's start; nothing else moves while the lock is held.
 */
export function expectedAfterCounts(
  locked: LockedImage,
  columns: CountColumns,
  bumpGeneration: boolean,
): CountWritten {
  const row = locked.image;
  return {
    image: {
      ...row,
      desired_instances: columns.desired_instances ?? row.desired_instances,
      min_instances: columns.min_instances ?? row.min_instances,
      max_instances: columns.max_instances ?? row.max_instances,
      generation: bumpGeneration ? row.generation + 1 : row.generation,
      resource_version: row.resource_version + 1,
      updated_at: locked.transactionStartedAt,
    },
    hasRevision: locked.hasRevision,
  };
}

/**
 * Whether a count write gave what was expected: the whole row, column by column (dates by their
 * time, JSON structurally), and whether the image has a revision. Only the columns the UPDATE
 * writes can move while the row is locked, but a trigger or another write of the row in the
 * transaction would move others: then the callers went on with a row that is not the one
 * written, and the group must not commit.
 */
function sameWritten(written: CountWritten, expected: CountWritten): boolean {
  const row: Readonly<Record<string, unknown>> = written.image;
  const wanted: Readonly<Record<string, unknown>> = expected.image;
  const columns = Object.keys(row);
  return (
    written.hasRevision === expected.hasRevision &&
    columns.length === Object.keys(wanted).length &&
    columns.every((column) => sameValue(row[column], wanted[column]))
  );
}

function sameValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (left instanceof Date || right instanceof Date) {
    return left instanceof Date && right instanceof Date && left.getTime() === right.getTime();
  }
  return typeof left === "object" && typeof right === "object" && sameCanonicalJson(left, right);
}

/**
 * The counts written, bumping `resource_version` (and `generation` with `bumpGeneration`) and
 * NOTIFYing the controller of each image, as writeDesiredState does: each row as it is after,
 * and whether its image has a revision. The rows are this transaction's locked ones already.
 */
export function writeCountsTogether(
  input: CountWrite,
  bumpGeneration: boolean,
): TogetherCall<CountWrite, CountWritten> {
  const known = input.expected !== undefined;
  return {
    // Writes whose result is known and those whose is not go in statements of their own.
    kind: `images.writeCounts/${bumpGeneration}/${known ? "known" : "read"}`,
    input,
    writes: true,
    ...(known ? { knownResult: ({ expected }: CountWrite) => expected as CountWritten } : {}),
    runAll: async (inputs, db) => {
      // Two writes of one image never share a group (write-batches.ts); were they to, the
      // statement would apply one and answer both with it.
      if (new Set(inputs.map(({ id }) => id)).size !== inputs.length) {
        throw new Error("two count writes of one image in one statement");
      }
      const given = inputs.map(({ id, columns }) => ({
        id,
        desired_instances: columns.desired_instances ?? null,
        min_instances: columns.min_instances ?? null,
        max_instances: columns.max_instances ?? null,
      }));
      const { rows } = await sql<ImageRecord & { notified: null; has_revision: boolean }>`
        update images set
          desired_instances = coalesce(given.desired_instances, images.desired_instances),
          min_instances = coalesce(given.min_instances, images.min_instances),
          max_instances = coalesce(given.max_instances, images.max_instances),
          ${bumpGeneration ? sql`generation = images.generation + 1,` : sql``}
          resource_version = images.resource_version + 1,
          updated_at = now()
        from jsonb_to_recordset(${jsonb(given)}) as given(id bigint, desired_instances int,
          min_instances int, max_instances int)
        where images.id = given.id
        returning images.*, pg_notify(${imagesChannel}, images.id::text) as notified,
          ${hasRevision} as has_revision`.execute(db);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return inputs.map(({ id, expected }) => {
        const row = byId.get(id);
        if (row === undefined) throw new Error(`image ${id} was not there to write`);
        const { notified: _, has_revision, ...image } = row;
        const written = { image, hasRevision: has_revision };
        // Its callers went on with what they expected: anything else fails the transaction,
        // whose writes then run again alone.
        if (expected !== undefined && !sameWritten(written, expected)) {
          throw new Error(`image ${id}: the count write gave a row other than expected`);
        }
        return written;
      });
    },
  };
}
