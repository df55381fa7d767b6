import { sql } from "kysely";
import type { Executor } from "./executor.ts";
import type { NewInstance } from "./instances-repository.ts";
import type { InstanceRecord } from "./records.ts";

/** First key of the per-(image, key) claim lock (any constant; the second is a hash of both). */
const claimLockNamespace = 724_616;

export type ClaimFilter = {
  readonly userId?: number | undefined;
  readonly imageId?: number | undefined;
  readonly key?: string | undefined;
};

export type NewClaim = {
  readonly claimId: string;
  readonly key: string;
  readonly claimedAt: Date;
  readonly expiresAt: Date;
};

/**
 * Claims of pooled instances (sql/0016). A claim lives on its instance's row (`claim_id`,
 * `claim_key`, `claimed_at`, `claim_expires_at`), so one instance holds at most one claim, and
 * the unique index on (image_id, claim_key) holds one instance per key.
 */
export function createClaimsRepository(db: Executor) {
  return {
    /**
     * Serialises claims of one key of one image until the transaction ends (two first claims of
     * a key racing would otherwise take two instances; the unique index would refuse one).
     */
    async lockKey(imageId: number, key: string): Promise<void> {
      await sql`select pg_advisory_xact_lock(${claimLockNamespace}, hashtext(${`${imageId}:${key}`}))`.execute(
        db,
      );
    },

    /** The instance a key holds on an image, if any (locked for the rest of the transaction). */
    async findByKey(imageId: number, key: string): Promise<InstanceRecord | undefined> {
      return db
        .selectFrom("instances")
        .selectAll()
        .where("image_id", "=", imageId)
        .where("claim_key", "=", key)
        .forUpdate()
        .executeTakeFirst();
    },

    async findById(claimId: string): Promise<InstanceRecord | undefined> {
      return db
        .selectFrom("instances")
        .selectAll()
        .where("claim_id", "=", claimId)
        .executeTakeFirst();
    },

    /** Locks the row of a live claim for a change (renew, release). */
    async lockById(claimId: string): Promise<InstanceRecord | undefined> {
      return db
        .selectFrom("instances")
        .selectAll()
        .where("claim_id", "=", claimId)
        .forUpdate()
        .executeTakeFirst();
    },

    async list(filter: ClaimFilter): Promise<InstanceRecord[]> {
      let query = db
        .selectFrom("instances")
        .selectAll()
        .where("claim_id", "is not", null)
        .orderBy("claimed_at")
        .orderBy("id");
      if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
      if (filter.imageId !== undefined) query = query.where("image_id", "=", filter.imageId);
      if (filter.key !== undefined) query = query.where("claim_key", "=", filter.key);
      return query.execute();
    },

    /**
     * Takes one idle instance of the image for `claim`: running, unclaimed, not being recycled
     * or removed (and healthy when the image has a health check), the longest running first.
     * One statement: the row is locked with FOR UPDATE SKIP LOCKED, so concurrent claims take
     * different rows without waiting on each other, and a row claimed meanwhile is re-checked
     * and passed over.
     */
    async takeIdle(
      imageId: number,
      needsHealthy: boolean,
      claim: NewClaim,
    ): Promise<InstanceRecord | undefined> {
      let idle = db
        .selectFrom("instances")
        .select("id")
        .where("image_id", "=", imageId)
        .where("claim_key", "is", null)
        .where("deletion_requested_at", "is", null)
        .where("recycle_requested_at", "is", null)
        .where("desired_state", "=", "running")
        .where("observed_state", "=", "running")
        .where("container_id", "is not", null);
      if (needsHealthy) idle = idle.where("health", "=", "healthy");
      return db
        .updateTable("instances")
        .set({
          claim_id: claim.claimId,
          claim_key: claim.key,
          claimed_at: claim.claimedAt,
          claim_expires_at: claim.expiresAt,
          updated_at: sql<Date>`now()`,
        })
        .where(
          "id",
          "=",
          idle.orderBy("started_at").orderBy("id").limit(1).forUpdate().skipLocked(),
        )
        .returningAll()
        .executeTakeFirst();
    },

    /** Instances of the image not being removed: what `max` bounds. */
    async countLive(imageId: number): Promise<number> {
      const row = await db
        .selectFrom("instances")
        .select((eb) => eb.fn.countAll<number>().as("count"))
        .where("image_id", "=", imageId)
        .where("deletion_requested_at", "is", null)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    /** A new instance born claimed (no idle one was free): the controller creates its container. */
    async insertClaimed(instance: NewInstance, claim: NewClaim): Promise<InstanceRecord> {
      return db
        .insertInto("instances")
        .values({
          ...instance,
          claim_id: claim.claimId,
          claim_key: claim.key,
          claimed_at: claim.claimedAt,
          claim_expires_at: claim.expiresAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    async renew(claimId: string, expiresAt: Date): Promise<InstanceRecord | undefined> {
      return db
        .updateTable("instances")
        .set({ claim_expires_at: expiresAt, updated_at: sql<Date>`now()` })
        .where("claim_id", "=", claimId)
        .returningAll()
        .executeTakeFirst();
    },

    /**
     * Ends a claim: the instance goes back to be recycled, either a fresh container for it
     * (`restart`) or its removal so that a new instance takes its place (`replace`).
     * `onlyIfExpired`: the controller's sweep, which a renewal made meanwhile wins over.
     */
    async release(
      claimId: string,
      recycle: "restart" | "replace",
      options: { readonly onlyIfExpired?: boolean } = {},
    ): Promise<InstanceRecord | undefined> {
      let query = db
        .updateTable("instances")
        .set({
          claim_id: null,
          claim_key: null,
          claimed_at: null,
          claim_expires_at: null,
          ...(recycle === "restart"
            ? { recycle_requested_at: sql<Date>`now()` }
            : {
                deletion_requested_at: sql<Date>`coalesce(deletion_requested_at, now())`,
                deletion_reason: sql<string>`coalesce(deletion_reason, 'recycle')`,
              }),
          updated_at: sql<Date>`now()`,
        })
        .where("claim_id", "=", claimId);
      if (options.onlyIfExpired) query = query.where("claim_expires_at", "<=", sql<Date>`now()`);
      return query.returningAll().executeTakeFirst();
    },

    /** Claims of the image past their expiry (the controller releases them). */
    async listExpired(imageId: number): Promise<InstanceRecord[]> {
      return db
        .selectFrom("instances")
        .selectAll()
        .where("image_id", "=", imageId)
        .where("claim_expires_at", "<=", sql<Date>`now()`)
        .execute();
    },

    /** The controller recycled the instance: the request it acted on is done (a newer one stays). */
    async clearRecycleRequest(instanceId: string, requestedAt: Date): Promise<void> {
      await db
        .updateTable("instances")
        .set({ recycle_requested_at: null })
        .where("id", "=", instanceId)
        // Rows keep microseconds, JavaScript dates milliseconds: compare at the coarser one.
        .where(sql<Date>`date_trunc('milliseconds', recycle_requested_at)`, "<=", requestedAt)
        .execute();
    },
  };
}

export type ClaimsRepository = ReturnType<typeof createClaimsRepository>;
