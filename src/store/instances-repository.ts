import { type Kysely, sql } from "kysely";
import type { InstanceRecord, ObservedPatch } from "./records.ts";
import type { Database, DesiredState } from "./schema.ts";

export async function listInstancesOfImage(
  db: Kysely<Database>,
  imageId: number,
): Promise<InstanceRecord[]> {
  return db
    .selectFrom("instances")
    .selectAll()
    .where("image_id", "=", imageId)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

/** Instances of many images at once (resync batches). */
export async function listInstancesOfImages(
  db: Kysely<Database>,
  imageIds: readonly number[],
): Promise<InstanceRecord[]> {
  if (imageIds.length === 0) return [];
  return db
    .selectFrom("instances")
    .selectAll()
    .where("image_id", "in", [...imageIds])
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

export type InstanceFilter = {
  readonly userId?: number | undefined;
  readonly imageId?: number | undefined;
};

export async function listInstances(
  db: Kysely<Database>,
  filter: InstanceFilter,
): Promise<InstanceRecord[]> {
  let query = db
    .selectFrom("instances")
    .selectAll()
    .orderBy("image_id")
    .orderBy("created_at")
    .orderBy("id");
  if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
  if (filter.imageId !== undefined) query = query.where("image_id", "=", filter.imageId);
  return query.execute();
}

export async function findInstance(
  db: Kysely<Database>,
  id: string,
): Promise<InstanceRecord | undefined> {
  return db.selectFrom("instances").selectAll().where("id", "=", id).executeTakeFirst();
}

export type NewInstance = {
  readonly id: string;
  readonly image_id: number;
  readonly user_id: number;
  readonly container_name: string;
};

export async function insertInstances(
  executor: Kysely<Database>,
  instances: readonly NewInstance[],
): Promise<InstanceRecord[]> {
  if (instances.length === 0) return [];
  return executor
    .insertInto("instances")
    .values([...instances])
    .returningAll()
    .execute();
}

/** The controller's write: observed columns only, never the API's desired ones. */
export async function patchObserved(
  executor: Kysely<Database>,
  id: string,
  patch: ObservedPatch,
): Promise<void> {
  if (Object.keys(patch).length === 0) return;
  await executor
    .updateTable("instances")
    .set({ ...patch, updated_at: sql<Date>`now()` })
    .where("id", "=", id)
    .execute();
}

export async function markInstancesForDeletion(
  executor: Kysely<Database>,
  ids: readonly string[],
  reason: string,
): Promise<void> {
  if (ids.length === 0) return;
  await executor
    .updateTable("instances")
    .set({
      deletion_requested_at: sql<Date>`now()`,
      deletion_reason: reason,
      updated_at: sql<Date>`now()`,
    })
    .where("id", "in", [...ids])
    .where("deletion_requested_at", "is", null)
    .execute();
}

export async function setDesiredState(
  executor: Kysely<Database>,
  id: string,
  state: DesiredState,
): Promise<void> {
  await executor
    .updateTable("instances")
    .set({ desired_state: state, updated_at: sql<Date>`now()` })
    .where("id", "=", id)
    .execute();
}

export async function deleteInstanceRow(executor: Kysely<Database>, id: string): Promise<void> {
  await executor.deleteFrom("instances").where("id", "=", id).execute();
}
