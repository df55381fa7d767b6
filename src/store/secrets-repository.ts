import { sql } from "kysely";
import type { Executor } from "./executor.ts";

/** A secret as listed: never its value (the ciphertext stays in this file's queries but one). */
export type SecretRecord = {
  readonly id: number;
  readonly user_id: number;
  readonly name: string;
  readonly version: number;
  readonly created_at: Date;
  readonly updated_at: Date;
};

/** A secret with its ciphertext: what the controller opens to run a container. */
export type SealedSecret = SecretRecord & { readonly ciphertext: string };

const listedColumns = ["id", "user_id", "name", "version", "created_at", "updated_at"] as const;

/** Queries on `secrets`. */
export function createSecretsRepository(db: Executor) {
  return {
    /**
     * Creates the secret, or replaces its value (version + 1): one statement, so two writers of
     * one name never both create it.
     */
    async put(userId: number, name: string, ciphertext: string): Promise<SecretRecord> {
      return db
        .insertInto("secrets")
        .values({ user_id: userId, name, ciphertext })
        .onConflict((conflict) =>
          conflict.columns(["user_id", "name"]).doUpdateSet({
            ciphertext,
            version: sql<number>`secrets.version + 1`,
            updated_at: sql<Date>`now()`,
          }),
        )
        .returning(listedColumns)
        .executeTakeFirstOrThrow();
    },

    async list(userId: number): Promise<SecretRecord[]> {
      return db
        .selectFrom("secrets")
        .select(listedColumns)
        .where("user_id", "=", userId)
        .orderBy("name")
        .execute();
    },

    /** The secret, locked until the transaction ends (a delete against a write naming it). */
    async findForUpdate(userId: number, name: string): Promise<SecretRecord | undefined> {
      return db
        .selectFrom("secrets")
        .select(listedColumns)
        .where("user_id", "=", userId)
        .where("name", "=", name)
        .forUpdate()
        .executeTakeFirst();
    },

    /**
     * Which of these names the user has, each held (FOR SHARE) until the transaction ends: a
     * write that names them and a delete of one of them never both commit.
     */
    async holdExisting(userId: number, names: readonly string[]): Promise<Set<string>> {
      if (names.length === 0) return new Set();
      const rows = await db
        .selectFrom("secrets")
        .select("name")
        .where("user_id", "=", userId)
        .where("name", "in", [...names])
        .forShare()
        .execute();
      return new Set(rows.map((row) => row.name));
    },

    /** The named secrets of a user with their ciphertext (the controller's read). */
    async sealed(userId: number, names: readonly string[]): Promise<SealedSecret[]> {
      if (names.length === 0) return [];
      return db
        .selectFrom("secrets")
        .select([...listedColumns, "ciphertext"])
        .where("user_id", "=", userId)
        .where("name", "in", [...names])
        .execute();
    },

    async delete(id: number): Promise<void> {
      await db.deleteFrom("secrets").where("id", "=", id).execute();
    },
  };
}

export type SecretsRepository = ReturnType<typeof createSecretsRepository>;
