import { type Insertable, type Selectable, sql } from "kysely";
import type { Executor } from "./executor.ts";
import { jsonb } from "./json.ts";
import type { HealthSnapshotsTable } from "./schema.ts";

/** One resource sample of an instance, as written. */
export type NewHealthSnapshot = Insertable<HealthSnapshotsTable>;

/** One resource sample of an instance, as read. */
export type HealthSnapshot = Selectable<HealthSnapshotsTable>;

/** Rows per insert statement. */
const insertChunk = 500;

/** Queries on `health_snapshots`: the resource monitor writes them, the health routes read them. */
export function createHealthSnapshotsRepository(db: Executor) {
  return {
    async insertMany(snapshots: readonly NewHealthSnapshot[]): Promise<void> {
      for (let offset = 0; offset < snapshots.length; offset += insertChunk) {
        await db
          .insertInto("health_snapshots")
          .values(
            snapshots.slice(offset, offset + insertChunk).map(({ probe, ...snapshot }) => ({
              ...snapshot,
              ...(probe === undefined ? {} : { probe: jsonb(probe) }),
            })),
          )
          .execute();
      }
    },

    async latest(instanceId: string): Promise<HealthSnapshot | undefined> {
      return db
        .selectFrom("health_snapshots")
        .selectAll()
        .where("instance_id", "=", instanceId)
        .orderBy("sampled_at", "desc")
        .limit(1)
        .executeTakeFirst();
    },

    /** The newest sample of each of an image's instances taken since `since` (the autoscaler's). */
    async latestOfImage(imageId: number, since: Date): Promise<HealthSnapshot[]> {
      return db
        .selectFrom("health_snapshots")
        .selectAll()
        .distinctOn("instance_id")
        .where("image_id", "=", imageId)
        .where("sampled_at", ">=", since)
        .orderBy("instance_id")
        .orderBy("sampled_at", "desc")
        .execute();
    },

    /** An instance's samples, oldest first. */
    async history(
      instanceId: string,
      options: { readonly since?: Date | undefined; readonly limit: number },
    ): Promise<HealthSnapshot[]> {
      let query = db
        .selectFrom("health_snapshots")
        .selectAll()
        .where("instance_id", "=", instanceId)
        .orderBy("sampled_at", "asc")
        .limit(options.limit);
      if (options.since !== undefined) query = query.where("sampled_at", ">=", options.since);
      return query.execute();
    },

    /** Samples written after `afterId`, oldest first (the event stream's `metrics`). */
    async after(
      afterId: number,
      filter: {
        readonly userId?: number | undefined;
        readonly imageId?: number | undefined;
        readonly instanceId?: string | undefined;
      },
      limit: number,
    ): Promise<HealthSnapshot[]> {
      let query = db
        .selectFrom("health_snapshots")
        .selectAll()
        .where("id", ">", afterId)
        .orderBy("id", "asc")
        .limit(limit);
      if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
      if (filter.imageId !== undefined) query = query.where("image_id", "=", filter.imageId);
      if (filter.instanceId !== undefined)
        query = query.where("instance_id", "=", filter.instanceId);
      return query.execute();
    },

    /** The id of the newest sample (0 when there is none): where "from now on" starts. */
    async newestId(): Promise<number> {
      const row = await db
        .selectFrom("health_snapshots")
        .select((eb) => eb.fn.max("id").as("id"))
        .executeTakeFirst();
      return Number(row?.id ?? 0);
    },

    /** Deletes samples older than `days` (database time); returns how many. */
    async pruneOlderThan(days: number): Promise<number> {
      const result = await db
        .deleteFrom("health_snapshots")
        .where("sampled_at", "<", sql<Date>`now() - make_interval(days => ${days})`)
        .executeTakeFirst();
      return Number(result.numDeletedRows ?? 0);
    },
  };
}

export type HealthSnapshotsRepository = ReturnType<typeof createHealthSnapshotsRepository>;
