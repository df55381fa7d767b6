import { sql } from "kysely";
import type { Executor } from "./executor.ts";

/** Registry credentials as listed: never the password. */
export type RegistryCredentialsRecord = {
  readonly id: number;
  readonly user_id: number;
  readonly server: string;
  readonly username: string;
  readonly created_at: Date;
  readonly updated_at: Date;
};

const listedColumns = ["id", "user_id", "server", "username", "created_at", "updated_at"] as const;

/** Queries on `registry_credentials`. */
export function createRegistryCredentialsRepository(db: Executor) {
  return {
    /** Creates or replaces a user's credentials for a server. */
    async put(
      userId: number,
      server: string,
      username: string,
      passwordCiphertext: string,
    ): Promise<RegistryCredentialsRecord> {
      return db
        .insertInto("registry_credentials")
        .values({ user_id: userId, server, username, password_ciphertext: passwordCiphertext })
        .onConflict((conflict) =>
          conflict.columns(["user_id", "server"]).doUpdateSet({
            username,
            password_ciphertext: passwordCiphertext,
            updated_at: sql<Date>`now()`,
          }),
        )
        .returning(listedColumns)
        .executeTakeFirstOrThrow();
    },

    async list(userId: number): Promise<RegistryCredentialsRecord[]> {
      return db
        .selectFrom("registry_credentials")
        .select(listedColumns)
        .where("user_id", "=", userId)
        .orderBy("server")
        .execute();
    },

    async find(userId: number, server: string): Promise<RegistryCredentialsRecord | undefined> {
      return db
        .selectFrom("registry_credentials")
        .select(listedColumns)
        .where("user_id", "=", userId)
        .where("server", "=", server)
        .executeTakeFirst();
    },

    /** The user's credentials for a server with the sealed password (the controller's pull). */
    async sealed(
      userId: number,
      server: string,
    ): Promise<(RegistryCredentialsRecord & { readonly password_ciphertext: string }) | undefined> {
      return db
        .selectFrom("registry_credentials")
        .select([...listedColumns, "password_ciphertext"])
        .where("user_id", "=", userId)
        .where("server", "=", server)
        .executeTakeFirst();
    },

    async delete(id: number): Promise<void> {
      await db.deleteFrom("registry_credentials").where("id", "=", id).execute();
    },
  };
}

export type RegistryCredentialsRepository = ReturnType<typeof createRegistryCredentialsRepository>;
