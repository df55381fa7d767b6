import type { Executor } from "./executor.ts";

export type TokenOwner = { readonly userId: number; readonly userName: string };

export type CreatedToken = TokenOwner & { readonly tokenId: number; readonly name: string };

/** Queries on `users` and `api_tokens`. */
export function createTokensRepository(db: Executor) {
  return {
    /** The user a token hash belongs to, or undefined for an unknown token. */
    async findOwnerByHash(tokenHash: string): Promise<TokenOwner | undefined> {
      const row = await db
        .selectFrom("api_tokens")
        .innerJoin("users", "users.id", "api_tokens.user_id")
        .select(["api_tokens.id as tokenId", "users.id as userId", "users.name as userName"])
        .where("api_tokens.token_hash", "=", tokenHash)
        .executeTakeFirst();
      return row === undefined ? undefined : { userId: row.userId, userName: row.userName };
    },

    /** Creates the user when it does not exist yet, then a token for it. */
    async create(userName: string, tokenName: string, tokenHash: string): Promise<CreatedToken> {
      const work = async (trx: Executor): Promise<CreatedToken> => {
        const user = await trx
          .insertInto("users")
          .values({ name: userName })
          .onConflict((conflict) =>
            conflict.column("name").doUpdateSet((eb) => ({ name: eb.ref("excluded.name") })),
          )
          .returning(["id", "name"])
          .executeTakeFirstOrThrow();
        const token = await trx
          .insertInto("api_tokens")
          .values({ user_id: user.id, name: tokenName, token_hash: tokenHash })
          .returning(["id", "name"])
          .executeTakeFirstOrThrow();
        return { userId: user.id, userName: user.name, tokenId: token.id, name: token.name };
      };
      return db.isTransaction ? work(db) : db.transaction().execute(work);
    },

    async findUserByName(userName: string): Promise<TokenOwner | undefined> {
      const row = await db
        .selectFrom("users")
        .select(["id", "name"])
        .where("name", "=", userName)
        .executeTakeFirst();
      return row === undefined ? undefined : { userId: row.id, userName: row.name };
    },
  };
}

export type TokensRepository = ReturnType<typeof createTokensRepository>;
