import { sql } from "kysely";
import type { HealthCheck } from "../domain/image-spec.ts";
import type { Executor } from "./executor.ts";
import { jsonb } from "./json.ts";
import { runInOrder } from "./pipeline.ts";
import type { InstanceRecord, ObservedPatch } from "./records.ts";
import type { DesiredState, ObservedState } from "./schema.ts";

export type NewInstance = {
  readonly id: string;
  readonly image_id: number;
  readonly user_id: number;
  readonly container_name: string;
};

export type InstanceFilter = {
  readonly userId?: number | undefined;
  readonly imageId?: number | undefined;
};

/** A running instance of an image with a health check: what the prober needs. */
export type ProbeCandidate = InstanceRecord & { readonly image_health_check: HealthCheck };

/** What the resource monitor samples: one container and its image's limits. */
export type SampleTarget = {
  readonly id: string;
  readonly image_id: number;
  readonly user_id: number;
  readonly container_id: string;
  readonly observed_state: ObservedState;
  readonly health: InstanceRecord["health"];
  readonly nano_cpus: number;
  readonly memory_bytes: number;
};

export type StateCount = {
  readonly image_id: number;
  readonly desired_state: DesiredState;
  readonly observed_state: ObservedState;
  readonly count: number;
};

const byCreation = <Query extends { orderBy(column: "created_at" | "id"): Query }>(query: Query) =>
  query.orderBy("created_at").orderBy("id");

/**
 * Queries on `instances`. Columns are owned by one side each: the API writes the desired ones
 * (`desired_state`, deletion), the controller the observed ones (`patchObserved`).
 */
export function createInstancesRepository(db: Executor) {
  /** An image's instances, oldest first. */
  const ofImage = (imageId: number) =>
    byCreation(db.selectFrom("instances").selectAll().where("image_id", "=", imageId));

  return {
    async find(id: string): Promise<InstanceRecord | undefined> {
      return db.selectFrom("instances").selectAll().where("id", "=", id).executeTakeFirst();
    },

    async listOfImage(imageId: number): Promise<InstanceRecord[]> {
      return ofImage(imageId).execute();
    },

    /**
     * The image's instances, then its resource_version (undefined: the image is gone) read in
     * the next statement, so that the version is at least as new as the rows: a version equal
     * to one read before the rows means no desired-state write came in between. Two statements
     * in one round trip where the connection pipelines (store/pipeline.ts).
     */
    async listOfImageThenVersion(
      imageId: number,
    ): Promise<{ instances: InstanceRecord[]; resourceVersion: number | undefined }> {
      const [listed, versioned] = await runInOrder(db, [
        ofImage(imageId).compile(),
        db.selectFrom("images").select("resource_version").where("id", "=", imageId).compile(),
      ]);
      const version = versioned?.rows[0]?.resource_version;
      return {
        instances: (listed?.rows ?? []) as InstanceRecord[],
        resourceVersion: version === undefined ? undefined : Number(version),
      };
    },

    /** Instances of many images at once (resync pages). */
    async listOfImages(imageIds: readonly number[]): Promise<InstanceRecord[]> {
      if (imageIds.length === 0) return [];
      return byCreation(
        db
          .selectFrom("instances")
          .selectAll()
          .where("image_id", "in", [...imageIds]),
      ).execute();
    },

    async list(filter: InstanceFilter): Promise<InstanceRecord[]> {
      let query = db.selectFrom("instances").selectAll().orderBy("image_id");
      if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
      if (filter.imageId !== undefined) query = query.where("image_id", "=", filter.imageId);
      return byCreation(query).execute();
    },

    async insert(instances: readonly NewInstance[]): Promise<InstanceRecord[]> {
      if (instances.length === 0) return [];
      return db
        .insertInto("instances")
        .values([...instances])
        .returningAll()
        .execute();
    },

    /** The controller's write: observed columns only, never the API's desired ones. */
    async patchObserved(id: string, patch: ObservedPatch): Promise<void> {
      if (Object.keys(patch).length === 0) return;
      const { last_probe, host_ports, ...plain } = patch;
      await db
        .updateTable("instances")
        .set({
          ...plain,
          ...(last_probe === undefined ? {} : { last_probe: jsonb(last_probe) }),
          ...(host_ports === undefined ? {} : { host_ports: jsonb(host_ports) }),
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", id)
        .execute();
    },

    async markForDeletion(ids: readonly string[], reason: string): Promise<void> {
      if (ids.length === 0) return;
      await db
        .updateTable("instances")
        .set({
          deletion_requested_at: sql<Date>`now()`,
          deletion_reason: reason,
          updated_at: sql<Date>`now()`,
        })
        .where("id", "in", [...ids])
        .where("deletion_requested_at", "is", null)
        .execute();
    },

    /**
     * The controller's scale-down mark: only if nobody claimed the instance since the pass read
     * it (a claim takes its row in one statement, so the two never both win). Whether it marked.
     */
    async markUnclaimedForDeletion(id: string, reason: string): Promise<boolean> {
      const marked = await db
        .updateTable("instances")
        .set({
          deletion_requested_at: sql<Date>`now()`,
          deletion_reason: reason,
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", id)
        .where("deletion_requested_at", "is", null)
        .where("claim_key", "is", null)
        .returning("id")
        .executeTakeFirst();
      return marked !== undefined;
    },

    async setDesiredState(id: string, state: DesiredState): Promise<void> {
      await db
        .updateTable("instances")
        .set({ desired_state: state, updated_at: sql<Date>`now()` })
        .where("id", "=", id)
        .execute();
    },

    /** The API asks for a restart of the instance's container; returns the row. */
    async requestRestart(id: string): Promise<InstanceRecord> {
      return db
        .updateTable("instances")
        .set({ restart_requested_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirstOrThrow();
    },

    /** The controller restarted it: the request it acted on is done (a newer one stays). */
    async clearRestartRequest(id: string, requestedAt: Date): Promise<void> {
      await db
        .updateTable("instances")
        .set({ restart_requested_at: null })
        .where("id", "=", id)
        // Rows keep microseconds, JavaScript dates milliseconds: compare at the coarser one.
        .where(sql<Date>`date_trunc('milliseconds', restart_requested_at)`, "<=", requestedAt)
        .execute();
    },

    async delete(id: string): Promise<void> {
      await db.deleteFrom("instances").where("id", "=", id).execute();
    },

    /** The container an instance runs now (null when none), or undefined when it is gone. */
    async containerIdOf(id: string): Promise<string | null | undefined> {
      const row = await db
        .selectFrom("instances")
        .select("container_id")
        .where("id", "=", id)
        .executeTakeFirst();
      return row?.container_id;
    },

    /** Running instances, not being removed, of images that have a health check. */
    async listProbeCandidates(): Promise<ProbeCandidate[]> {
      const rows = await db
        .selectFrom("instances")
        .innerJoin("images", "images.id", "instances.image_id")
        .selectAll("instances")
        .select(["images.health_check as image_health_check"])
        .where("images.health_check", "is not", null)
        .where("instances.observed_state", "=", "running")
        .where("instances.deletion_requested_at", "is", null)
        .where("instances.container_id", "is not", null)
        .execute();
      return rows as ProbeCandidate[];
    },

    /** Every instance that has a container, with its image's limits. */
    async listSampleTargets(): Promise<SampleTarget[]> {
      const rows = await db
        .selectFrom("instances")
        .innerJoin("images", "images.id", "instances.image_id")
        .select([
          "instances.id",
          "instances.image_id",
          "instances.user_id",
          "instances.container_id",
          "instances.observed_state",
          "instances.health",
          "images.nano_cpus",
          "images.memory_bytes",
        ])
        .where("instances.container_id", "is not", null)
        .execute();
      return rows as SampleTarget[];
    },

    /** How many instances each image has in each desired and observed state. */
    /** Which of these instance ids still have a row (metrics drop the series of the others). */
    async existing(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await db
        .selectFrom("instances")
        .select("id")
        .where("id", "in", [...ids])
        .execute();
      return new Set(rows.map((row) => row.id));
    },

    async countByState(): Promise<StateCount[]> {
      const rows = await db
        .selectFrom("instances")
        .select([
          "image_id",
          "desired_state",
          "observed_state",
          (eb) => eb.fn.countAll<number>().as("count"),
        ])
        .groupBy(["image_id", "desired_state", "observed_state"])
        .execute();
      return rows.map((row) => ({ ...row, count: Number(row.count) }));
    },
  };
}

export type InstancesRepository = ReturnType<typeof createInstancesRepository>;
