import type { Transaction } from "kysely";
import type { NewImage } from "../domain/image-spec.ts";
import { insertImage } from "../store/images-repository.ts";
import type { ImageRecord } from "../store/records.ts";
import type { Database, ImageStatus } from "../store/schema.ts";
import { DesiredStateError } from "./errors.ts";
import { specColumns } from "./spec-columns.ts";

/** Inserts a new image for a user, refusing a name the user already has (409 name_taken). */
export async function insertNamedImage(
  trx: Transaction<Database>,
  userId: number,
  input: NewImage & {
    readonly source_type: "reference" | "upload";
    readonly apply_set?: string | null;
  },
  status: ImageStatus,
): Promise<ImageRecord> {
  const existing = await trx
    .selectFrom("images")
    .select("id")
    .where("user_id", "=", userId)
    .where("name", "=", input.name)
    .executeTakeFirst();
  if (existing !== undefined) {
    throw new DesiredStateError(
      "name_taken",
      `an image named ${input.name} already exists (id ${existing.id})`,
      {
        extensions: { image_id: existing.id },
      },
    );
  }
  return insertImage(trx, {
    user_id: userId,
    name: input.name,
    source_type: input.source_type,
    image_reference: input.source_type === "reference" ? (input.image ?? null) : null,
    status,
    ...specColumns(input),
    apply_set: input.apply_set ?? null,
  });
}
