import { sql } from "kysely";
import type { Executor } from "./executor.ts";
import type { TokenScope } from "./schema.ts";
import { textArray } from "./sql-arrays.ts";
import { step, type Together } from "./together.ts";

/** A token as listed (never its secret: only the hash is stored, and never read back). */
export type TokenRecord = {
  readonly id: number;
  readonly user_id: number;
  readonly user_name: string;
  readonly name: string;
  readonly scope: TokenScope;
  readonly expires_at: Date | null;
  readonly created_at: Date;
  readonly last_used_at: Date | null;
};

export type NewToken = {
  readonly userId: number;
  readonly name: string;
  readonly scope: TokenScope;
  readonly expiresAt: Date | null;
  readonly tokenHash: string;
};

/** The select of a token as listed, with its user's name. */
function listedTokens(db: Executor) {
  return db
    .selectFrom("api_tokens")
    .innerJoin("users", "users.id", "api_tokens.user_id")
    .select([
      "api_tokens.id",
      "api_tokens.user_id",
      "users.name as user_name",
      "api_tokens.name",
      "api_tokens.scope",
      "api_tokens.expires_at",
      "api_tokens.created_at",
      "api_tokens.last_used_at",
    ]);
}

/**
 * Queries on `api_tokens`. With `lookups` (the store's, on its pool: lookupsTogether), the
 * tokens that requests present in one turn of the event loop are looked up in one statement.
 */
export function createTokensRepository(db: Executor, lookups?: Together) {
  const listed = () => listedTokens(db);

  return {
    /**
     * The token with this hash if it has not expired (revoked tokens no longer exist), read when
     * asked: never from a cache, so that a revoked token is refused from the next request on.
     */
    findActiveByHash(tokenHash: string): Promise<TokenRecord | undefined> {
      return step(db, lookups, {
        kind: "tokens.findActiveByHash",
        input: tokenHash,
        writes: false,
        runAll: async (hashes, executor) => {
          // Text holds no NUL: such a string names no token, and sent it would fail the
          // statement of every request looked up with it.
          const storable = hashes.filter((hash) => !hash.includes("\0"));
          if (storable.length === 0) return hashes.map(() => undefined);
          const rows = await listedTokens(executor)
            .select("api_tokens.token_hash")
            .where(sql<boolean>`api_tokens.token_hash = any(${textArray(storable)})`)
            .where((eb) =>
              eb.or([
                eb("api_tokens.expires_at", "is", null),
                eb("api_tokens.expires_at", ">", sql<Date>`now()`),
              ]),
            )
            .execute();
          const byHash = new Map(rows.map(({ token_hash, ...token }) => [token_hash, token]));
          return hashes.map((hash) => byHash.get(hash));
        },
      });
    },

    async create(token: NewToken): Promise<TokenRecord> {
      const row = await db
        .insertInto("api_tokens")
        .values({
          user_id: token.userId,
          name: token.name,
          scope: token.scope,
          expires_at: token.expiresAt,
          token_hash: token.tokenHash,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      return listed().where("api_tokens.id", "=", row.id).executeTakeFirstOrThrow();
    },

    async find(id: number): Promise<TokenRecord | undefined> {
      return listed().where("api_tokens.id", "=", id).executeTakeFirst();
    },

    /** Everyone's tokens (admin), or one user's, oldest first. */
    async list(userId: number | undefined): Promise<TokenRecord[]> {
      let query = listed().orderBy("api_tokens.id");
      if (userId !== undefined) query = query.where("api_tokens.user_id", "=", userId);
      return query.execute();
    },

    /** Revokes a token: its row goes, so it answers 401 from the next request on. */
    async delete(id: number): Promise<void> {
      await db.deleteFrom("api_tokens").where("id", "=", id).execute();
    },

    async touch(id: number): Promise<void> {
      await db
        .updateTable("api_tokens")
        .set({ last_used_at: sql<Date>`now()` })
        .where("id", "=", id)
        .execute();
    },
  };
}

export type TokensRepository = ReturnType<typeof createTokensRepository>;
