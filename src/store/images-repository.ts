import { sql } from "kysely";
import type { QuotaUsage } from "../domain/quota.ts";
import { imagesChannel } from "./channels.ts";
import type { Executor } from "./executor.ts";
import {
  expectedAfterCounts,
  type LockedImage,
  lockedImageOf,
  lockOwnedIfFreeTogether,
  onlyCounts,
  usageWhileLockedTogether,
  writeCountsTogether,
} from "./images-together.ts";
import { jsonb } from "./json.ts";
import { runInOrder } from "./pipeline.ts";
import { usageOfRow, usageQuery } from "./quota-usage.ts";
import type { ImageRecord } from "./records.ts";
import type { Condition, ImageStatus, SourceType } from "./schema.ts";
import { step, type Together } from "./together.ts";
import { isUniqueViolation } from "./unique-violation.ts";
import { lockedUser, lockQuotaQuery, type UserRecord } from "./users-repository.ts";

/** The columns of a new image row; the rest take their defaults. */
export type ImageInsert = {
  readonly user_id: number;
  readonly name: string;
  readonly source_type: SourceType;
  readonly image_reference: string | null;
  readonly status: ImageStatus;
  readonly apply_set?: string | null;
} & SpecColumns;

/** The columns that hold an image's spec (env and health_check as plain values). */
export type SpecColumns = Pick<
  ImageRecord,
  | "tag"
  | "app_hostname"
  | "container_port"
  | "min_instances"
  | "max_instances"
  | "desired_instances"
  | "cpu_limit"
  | "nano_cpus"
  | "memory_limit"
  | "memory_bytes"
  | "env"
  | "health_check"
  | "container_options"
>;

/**
 * One write of an image's desired state: columns, and what goes with them. The repository turns
 * the flags into SQL (database time, counters); the caller decides which to set.
 */
export type DesiredWrite = {
  readonly columns?: Partial<
    SpecColumns &
      Pick<
        ImageRecord,
        "source_type" | "image_reference" | "status" | "docker_image_id" | "source_digest"
      >
  >;
  /** The spec changed: `generation` moves on, so observed_generation tells when it is done. */
  readonly bumpGeneration: boolean;
  /** Status `deleting`, with the time it was asked. */
  readonly markDeleting?: boolean;
  /** With the deletion, its named volumes go too (never unset once asked). */
  readonly deleteVolumes?: boolean;
  /** A new build is wanted: status `pending`, build times and logs cleared, the source recorded. */
  readonly requestBuild?: { readonly source?: { readonly path: string; readonly digest: string } };
};

/** The observed status a reconcile pass writes about an image. */
export type ObservedImageStatus = {
  readonly conditions: readonly Condition[];
  readonly observedGeneration: number;
  /** Reference images only: their status and Docker image id are the controller's to write. */
  readonly resolved?: { readonly status: ImageStatus; readonly dockerImageId: string | null };
};

/** First key of the per-user lock on the dependency graph (the second key is the user id). */
const dependencyLockNamespace = 724_604;
const hostnameLockNamespace = 724_617;
const hostPortLockNamespace = 724_618;

/** NOTIFY of the row's image id on the images channel, as an expression of a row of images. */
const notifyImage = sql<null>`pg_notify(${imagesChannel}, id::text)`;

/** Two creates of one name raced: the unique constraint refused the second. */
export class ImageNameTakenError extends Error {
  override name = "ImageNameTakenError";
}

/** Queries on `images`: the desired state the API writes and the status the controller writes. */
/** With `together`, a count write's statements go with the other works' (images-together.ts). */
export function createImagesRepository(db: Executor, together?: Together) {
  /** Users whose quota lock this transaction took with lockOwnedIfFree (held until its end). */
  const quotaLocked = new Set<number>();
  /**
   * The rows lockOwnedIfFree locked, as read, until this transaction writes them: a count write
   * of one then knows what it gives before its statement runs (expectedAfterCounts).
   */
  const lockedUnwritten = new Map<number, LockedImage>();
  const repository = {
    async find(id: number): Promise<ImageRecord | undefined> {
      return db.selectFrom("images").selectAll().where("id", "=", id).executeTakeFirst();
    },

    /**
     * The row locked for the rest of the transaction (read-modify-write of desired state). With
     * `userId`, only that user's image: another's is neither locked nor waited for.
     */
    async findForUpdate(id: number, userId?: number): Promise<ImageRecord | undefined> {
      let query = db.selectFrom("images").selectAll().where("id", "=", id);
      if (userId !== undefined) query = query.where("user_id", "=", userId);
      return query.forUpdate().executeTakeFirst();
    },

    /**
     * For a write that must not wait (one in a shared transaction): the user's image locked, and
     * the user's quota lock taken, when nobody else holds either now (FOR UPDATE SKIP LOCKED,
     * then pg_try_advisory_xact_lock on the row found, in one statement). Undefined when either
     * is busy, or the image is not the user's: the caller then writes alone, waiting for the
     * locks, or answers 404. Holding the quota lock, usageAfterQuotaLock measures at once. In a
     * transaction only (outside one, nothing stays locked).
     */
    async lockOwnedIfFree(id: number, userId: number): Promise<ImageRecord | undefined> {
      const row = await step(db, together, lockOwnedIfFreeTogether({ id, userId }));
      if (row === undefined || !row.quota_locked) return undefined;
      quotaLocked.add(userId);
      const locked = lockedImageOf(row);
      lockedUnwritten.set(id, locked);
      return locked.image;
    },

    async findByName(userId: number, name: string): Promise<ImageRecord | undefined> {
      return db
        .selectFrom("images")
        .selectAll()
        .where("user_id", "=", userId)
        .where("name", "=", name)
        .executeTakeFirst();
    },

    /** Everyone's images (admin), or one user's, by id. */
    async list(userId: number | undefined): Promise<ImageRecord[]> {
      let query = db.selectFrom("images").selectAll().orderBy("id");
      if (userId !== undefined) query = query.where("user_id", "=", userId);
      return query.execute();
    },

    /** A user's images by name, locked for the rest of the transaction (an apply of a set). */
    async listOwnedForUpdate(userId: number): Promise<ImageRecord[]> {
      return db
        .selectFrom("images")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("name")
        .forUpdate()
        .execute();
    },

    async listByIds(ids: readonly number[]): Promise<ImageRecord[]> {
      if (ids.length === 0) return [];
      return db
        .selectFrom("images")
        .selectAll()
        .where("id", "in", [...ids])
        .execute();
    },

    /** A page of images after `afterId` (keyset pagination: one query per page). */
    async listAfter(afterId: number, limit: number): Promise<ImageRecord[]> {
      return db
        .selectFrom("images")
        .selectAll()
        .where("id", ">", afterId)
        .orderBy("id")
        .limit(limit)
        .execute();
    },

    async listIds(): Promise<number[]> {
      return (await db.selectFrom("images").select("id").execute()).map((row) => row.id);
    },

    /**
     * What a user's images ask for (those not being deleted): the usage quotas limit. Sums are
     * computed as doubles, so that no total can overflow.
     */
    async usageOf(userId: number): Promise<QuotaUsage> {
      return usageOfRow(await usageQuery(db, userId).executeTakeFirstOrThrow());
    },

    /**
     * Takes the user's quota lock (users.lockQuota), then measures the usage (usageOf) in the
     * next statement, whose snapshot therefore includes every write that held the lock before:
     * two statements, sent together where the connection pipelines (store/pipeline.ts). Where
     * this transaction took the lock already (lockOwnedIfFree), one statement reads both.
     */
    async usageAfterQuotaLock(
      userId: number,
    ): Promise<{ user: UserRecord | undefined; usage: QuotaUsage }> {
      if (quotaLocked.has(userId)) {
        const row = await step(db, together, usageWhileLockedTogether(userId));
        return { user: lockedUser(row), usage: usageOfRow(row) };
      }
      const [locked, measured] = await runInOrder(db, [
        lockQuotaQuery(db, userId).compile(),
        usageQuery(db, userId).compile(),
      ]);
      const user = locked?.rows[0];
      const usage = measured?.rows[0];
      if (user === undefined || usage === undefined) throw new Error("the quota reads gave no row");
      return { user: lockedUser(user), usage: usageOfRow(usage) };
    },

    /** How many of a user's images are building now (the concurrent-builds quota). */
    async countBuilding(userId: number): Promise<number> {
      const row = await db
        .selectFrom("images")
        .select(sql<number>`count(*)::int`.as("count"))
        .where("user_id", "=", userId)
        .where("status", "=", "building")
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    /** Who owns an image, for the build queue's per-user lanes. */
    async ownerOf(id: number): Promise<number | undefined> {
      const row = await db
        .selectFrom("images")
        .select("user_id")
        .where("id", "=", id)
        .executeTakeFirst();
      return row?.user_id;
    },

    /**
     * Serialises the writes of one user that change the dependency graph (depends_on, deletes)
     * until the transaction ends: two writes can never close a cycle together, nor delete an
     * image while another comes to depend on it.
     */
    async lockDependencyGraph(userId: number): Promise<void> {
      await sql`select pg_advisory_xact_lock(${dependencyLockNamespace}, ${userId % 2_147_483_647}::int)`.execute(
        db,
      );
    },

    /** The hostname's lock, until the transaction ends (taken again: no wait). */
    async lockHostname(hostname: string): Promise<void> {
      await sql`select pg_advisory_xact_lock(${hostnameLockNamespace}, hashtext(${hostname}))`.execute(
        db,
      );
    },

    /** The fixed host port's lock, until the transaction ends (taken again: no wait). */
    async lockHostPort(port: number, protocol: string): Promise<void> {
      await sql`select pg_advisory_xact_lock(${hostPortLockNamespace}, hashtext(${`${protocol}/${port}`}))`.execute(
        db,
      );
    },

    /**
     * Another user's image with this `app_hostname` (deleting ones too: the router still routes
     * to them), read after taking the hostname's lock until the transaction ends, so that two
     * users claiming one hostname at once are decided one after the other.
     */
    async hostnameOfOtherUser(
      hostname: string,
      userId: number,
    ): Promise<{ readonly id: number } | undefined> {
      await repository.lockHostname(hostname);
      return db
        .selectFrom("images")
        .select("id")
        .where("app_hostname", "=", hostname)
        .where("user_id", "<>", userId)
        .limit(1)
        .executeTakeFirst();
    },

    /**
     * Whether an image (other than `exceptId`, not being deleted) asks for a fixed host port,
     * read after taking the port's lock until the transaction ends, so that two writes asking
     * for one port at once are decided one after the other. Callers taking several ports take
     * them in one order (option-rules.ts), so that two such writes cannot deadlock.
     */
    async usingHostPort(
      port: number,
      protocol: string,
      exceptId: number | undefined,
    ): Promise<boolean> {
      await repository.lockHostPort(port, protocol);
      let query = db
        .selectFrom("images")
        .select("id")
        .where(
          // Through jsonb(): a bare ::jsonb parameter is a JSON string on postgres.js.
          sql<boolean>`container_options -> 'ports' @> ${jsonb([{ host: port, protocol }])}`,
        )
        .where("status", "<>", "deleting")
        .limit(1);
      if (exceptId !== undefined) query = query.where("id", "<>", exceptId);
      return (await query.executeTakeFirst()) !== undefined;
    },

    /** A user's images whose env or secret files name this secret (deleting ones too: their
     * containers may still run it). */
    async usingSecret(
      userId: number,
      name: string,
    ): Promise<Array<{ readonly id: number; readonly name: string }>> {
      return db
        .selectFrom("images")
        .select(["id", "name"])
        .where("user_id", "=", userId)
        .where((eb) =>
          eb.or([
            sql<boolean>`exists (select 1 from jsonb_each(env) as entry where entry.value = ${jsonb({ secret: name })})`,
            sql<boolean>`container_options -> 'secrets' @> ${jsonb([{ name }])}`,
          ]),
        )
        .orderBy("id")
        .execute();
    },

    /** Images with `autoscale` set, not being deleted (the autoscaler's list). */
    async listAutoscaled(): Promise<ImageRecord[]> {
      return db
        .selectFrom("images")
        .selectAll()
        .where(sql<string>`jsonb_typeof(container_options -> 'autoscale')`, "=", "object")
        .where("status", "!=", "deleting")
        .orderBy("id")
        .execute();
    },

    async anyWithHealthCheck(): Promise<boolean> {
      const row = await db
        .selectFrom("images")
        .select("id")
        .where("health_check", "is not", null)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Inserts a new image; a name the user already has is an ImageNameTakenError. */
    async insert(values: ImageInsert): Promise<ImageRecord> {
      try {
        return await db
          .insertInto("images")
          .values({
            ...values,
            env: jsonb({ ...values.env }),
            health_check: jsonb(values.health_check),
            container_options: jsonb({ ...values.container_options }),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
      } catch (error) {
        if (isUniqueViolation(error, "images_user_id_name_key")) {
          throw new ImageNameTakenError(`an image named ${values.name} already exists`, {
            cause: error,
          });
        }
        throw error;
      }
    },

    /**
     * Writes desired state: `resource_version` always moves on, `generation` when asked. The
     * controller is told in the same statement (NOTIFY, sent at commit; see notifyChanged).
     */
    async writeDesired(id: number, write: DesiredWrite): Promise<ImageRecord> {
      return (await repository.writeDesiredState(id, write)).image;
    },

    /**
     * writeDesired, also telling (in the same statement: one round trip fewer per write)
     * whether the image has any revision yet, which decides whether the write starts one
     * (desired/revisions.ts).
     */
    async writeDesiredState(
      id: number,
      write: DesiredWrite,
    ): Promise<{ image: ImageRecord; hasRevision: boolean }> {
      const columns = write.columns ?? {};
      if (
        together !== undefined &&
        onlyCounts(columns) &&
        write.markDeleting !== true &&
        write.deleteVolumes !== true &&
        write.requestBuild === undefined
      ) {
        const locked = lockedUnwritten.get(id);
        lockedUnwritten.delete(id);
        const bump = write.bumpGeneration === true;
        return together(
          writeCountsTogether(
            locked === undefined
              ? { id, columns }
              : { id, columns, expected: expectedAfterCounts(locked, columns, bump) },
            bump,
          ),
        );
      }
      lockedUnwritten.delete(id);
      const { env, health_check, container_options, ...plain } = columns;
      const source = write.requestBuild?.source;
      const {
        notified: _,
        has_revision,
        ...updated
      } = await db
        .updateTable("images")
        .set({
          ...plain,
          ...(env === undefined ? {} : { env: jsonb(env) }),
          ...(health_check === undefined ? {} : { health_check: jsonb(health_check) }),
          ...(container_options === undefined
            ? {}
            : { container_options: jsonb({ ...container_options }) }),
          ...(write.markDeleting
            ? { status: "deleting" as const, deletion_requested_at: sql<Date>`now()` }
            : {}),
          ...(write.deleteVolumes ? { delete_volumes: true } : {}),
          ...(write.requestBuild === undefined
            ? {}
            : {
                status: "pending" as const,
                // Moves on every request: the status guard (sql/0003) lets the status go back
                // only then.
                build_requested_at: sql<Date>`clock_timestamp()`,
                build_started_at: null,
                build_finished_at: null,
                // The logs shown are the wanted build's: none until it starts.
                build_logs: null,
                ...(source === undefined
                  ? {}
                  : { source_path: source.path, source_digest: source.digest }),
              }),
          ...(write.bumpGeneration ? { generation: sql<number>`generation + 1` } : {}),
          resource_version: sql<number>`resource_version + 1`,
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", id)
        .returningAll()
        .returning(notifyImage.as("notified"))
        .returning(
          sql<boolean>`exists (select 1 from image_revisions where image_revisions.image_id = images.id)`.as(
            "has_revision",
          ),
        )
        .executeTakeFirstOrThrow();
      return { image: updated, hasRevision: has_revision };
    },

    /**
     * The controller's status after a pass; never over a deletion asked for while the pass ran,
     * nor back over a newer pass.
     */
    async writeObservedStatus(id: number, status: ObservedImageStatus): Promise<void> {
      await db
        .updateTable("images")
        .set({
          conditions: jsonb([...status.conditions]),
          observed_generation: status.observedGeneration,
          ...(status.resolved === undefined
            ? {}
            : { status: status.resolved.status, docker_image_id: status.resolved.dockerImageId }),
        })
        .where("id", "=", id)
        .where("status", "<>", "deleting")
        .where("observed_generation", "<=", status.observedGeneration)
        .execute();
    },

    /**
     * Holds or lets go the image's rollout (sql/0020): bumps resource_version and tells the
     * controller. Undefined when the image is already so (nothing written).
     */
    async setRolloutPaused(id: number, paused: boolean): Promise<ImageRecord | undefined> {
      const row = await db
        .updateTable("images")
        .set({
          rollout_paused: paused,
          resource_version: sql<number>`resource_version + 1`,
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", id)
        .where("rollout_paused", "<>", paused)
        .returningAll()
        .returning(notifyImage.as("notified"))
        .executeTakeFirst();
      if (row === undefined) return undefined;
      const { notified: _, ...updated } = row;
      return updated;
    },

    async delete(id: number): Promise<void> {
      await db.deleteFrom("images").where("id", "=", id).execute();
    },

    /** Tells the controller the image changed; inside a transaction it is sent at commit. */
    async notifyChanged(id: number): Promise<void> {
      await sql`select pg_notify(${imagesChannel}, ${String(id)})`.execute(db);
    },
  };
  return repository;
}

export type ImagesRepository = ReturnType<typeof createImagesRepository>;
