import { type Kysely, sql, type Transaction, type Updateable } from "kysely";
import { jsonb } from "./json.ts";
import type { ImageRecord } from "./records.ts";
import type { Database, ImageStatus, ImagesTable } from "./schema.ts";

export type ImageInsert = {
  readonly user_id: number;
  readonly name: string;
  readonly source_type: "reference" | "upload";
  readonly image_reference: string | null;
  readonly tag: string;
  readonly status: ImageStatus;
  readonly app_hostname: string | null;
  readonly container_port: number;
  readonly min_instances: number;
  readonly max_instances: number;
  readonly desired_instances: number;
  readonly cpu_limit: string;
  readonly nano_cpus: number;
  readonly memory_limit: string;
  readonly memory_bytes: number;
  readonly env: Readonly<Record<string, string>>;
  readonly health_check: ImageRecord["health_check"];
  readonly apply_set?: string | null;
};

/** Channel the API notifies after every desired-state write (payload: image id). */
export const imagesChannel = "orchestrator_images";

export async function notifyImageChanged(
  executor: Kysely<Database>,
  imageId: number,
): Promise<void> {
  await sql`select pg_notify(${imagesChannel}, ${String(imageId)})`.execute(executor);
}

export async function insertImage(
  trx: Transaction<Database>,
  values: ImageInsert,
): Promise<ImageRecord> {
  return trx
    .insertInto("images")
    .values({ ...values, env: jsonb({ ...values.env }), health_check: jsonb(values.health_check) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findImage(
  db: Kysely<Database>,
  id: number,
): Promise<ImageRecord | undefined> {
  return db.selectFrom("images").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The row locked for the rest of the transaction: the API's read-modify-write of desired state. */
export async function findImageForUpdate(
  trx: Transaction<Database>,
  id: number,
): Promise<ImageRecord | undefined> {
  return trx.selectFrom("images").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
}

export async function findImageByName(
  db: Kysely<Database>,
  userId: number,
  name: string,
): Promise<ImageRecord | undefined> {
  return db
    .selectFrom("images")
    .selectAll()
    .where("user_id", "=", userId)
    .where("name", "=", name)
    .executeTakeFirst();
}

export async function listImages(
  db: Kysely<Database>,
  userId: number | undefined,
): Promise<ImageRecord[]> {
  let query = db.selectFrom("images").selectAll().orderBy("id");
  if (userId !== undefined) query = query.where("user_id", "=", userId);
  return query.execute();
}

/** A page of images for a full resync, by id (keyset pagination: O(1) queries per page). */
export async function listImagesAfter(
  db: Kysely<Database>,
  afterId: number,
  limit: number,
): Promise<ImageRecord[]> {
  return db
    .selectFrom("images")
    .selectAll()
    .where("id", ">", afterId)
    .orderBy("id")
    .limit(limit)
    .execute();
}

export async function listImageIds(db: Kysely<Database>): Promise<number[]> {
  return (await db.selectFrom("images").select("id").execute()).map((row) => row.id);
}

/** Writes columns and bumps updated_at. */
export async function updateImage(
  executor: Kysely<Database>,
  id: number,
  values: Updateable<ImagesTable>,
): Promise<void> {
  await executor
    .updateTable("images")
    .set({ ...values, updated_at: sql<Date>`now()` })
    .where("id", "=", id)
    .execute();
}

export async function deleteImageRow(executor: Kysely<Database>, id: number): Promise<void> {
  await executor.deleteFrom("images").where("id", "=", id).execute();
}
