import { generateToken, hashToken } from "../auth/tokens.ts";
import { scopeIncludes, type TokenScope } from "../domain/token-scope.ts";
import type { Store } from "../store/database.ts";
import type { TokenRecord } from "../store/tokens-repository.ts";
import { AccountError } from "./account-error.ts";
import type { Caller } from "./caller.ts";

export type TokenRequest = {
  /** Whose token; the caller's own when absent. Only the admin names another user. */
  readonly user?: string | undefined;
  readonly name: string;
  readonly scope: TokenScope;
  readonly expiresAt: Date | null;
};

/** How often a token's `last_used_at` is written at most (one write per token per minute). */
const touchEveryMs = 60_000;

/** Who a bearer token belongs to: its row, for a valid user token. */
export type AuthenticatedToken = TokenRecord;

function presentForAudit(token: TokenRecord) {
  return {
    id: token.id,
    name: token.name,
    user: token.user_name,
    scope: token.scope,
    expires_at: token.expires_at?.toISOString() ?? null,
  };
}

/**
 * API tokens: created for users that exist (never creating one), listed and revoked by their
 * user or the admin. Secrets are generated here, shown once, and stored only as hashes. Every
 * change is audited in its transaction.
 */
export function createTokensService(store: Store) {
  const lastTouched = new Map<number, number>();

  /** A token the caller may see: its own, or any for the admin; else 404. */
  async function findVisible(caller: Caller, id: number): Promise<TokenRecord> {
    const token = await store.tokens.find(id);
    if (token === undefined || (!caller.isAdmin && token.user_id !== caller.userId)) {
      throw new AccountError("not_found", `token ${id} not found`);
    }
    return token;
  }

  return {
    /** The token a secret belongs to, if it exists and has not expired. */
    async authenticate(secret: string): Promise<AuthenticatedToken | undefined> {
      const token = await store.tokens.findActiveByHash(hashToken(secret));
      if (token === undefined) return undefined;
      const now = Date.now();
      if (now - (lastTouched.get(token.id) ?? 0) >= touchEveryMs) {
        lastTouched.set(token.id, now);
        await store.tokens.touch(token.id);
      }
      return token;
    },

    async create(
      caller: Caller,
      request: TokenRequest,
    ): Promise<{ token: TokenRecord; secret: string }> {
      const userName = request.user ?? caller.userName;
      if (userName !== caller.userName && !caller.isAdmin) {
        throw new AccountError("forbidden", "only the admin may create tokens for another user");
      }
      if (!scopeIncludes(caller.isAdmin ? "admin" : caller.scope, request.scope)) {
        throw new AccountError(
          "forbidden",
          `a ${caller.scope} token cannot hand out ${request.scope} scope`,
          "scope",
        );
      }
      if (request.expiresAt !== null && request.expiresAt.getTime() <= Date.now()) {
        throw new AccountError("validation_failed", "must be in the future", "expires_at");
      }
      const secret = generateToken();
      const token = await store.transaction(async (tx) => {
        const user = await tx.users.findByName(userName);
        if (user === undefined) {
          throw new AccountError(
            "validation_failed",
            `no such user ${userName}: the admin creates users with POST /api/users`,
            "user",
          );
        }
        const created = await tx.tokens.create({
          userId: user.id,
          name: request.name,
          scope: request.scope,
          expiresAt: request.expiresAt,
          tokenHash: hashToken(secret),
        });
        await tx.audit.append(caller.actor, [
          {
            action: "token.create",
            userId: user.id,
            imageId: null,
            target: `tokens/${created.id}`,
            old: null,
            new: presentForAudit(created),
          },
        ]);
        return created;
      });
      return { token, secret };
    },

    /** The caller's tokens; the admin sees everyone's, or one user's with `userName`. */
    async list(caller: Caller, userName?: string): Promise<TokenRecord[]> {
      if (!caller.isAdmin) {
        if (userName !== undefined && userName !== caller.userName) {
          throw new AccountError("forbidden", "only the admin may list another user's tokens");
        }
        return store.tokens.list(caller.userId);
      }
      if (userName === undefined) return store.tokens.list(undefined);
      const user = await store.users.findByName(userName);
      if (user === undefined) throw new AccountError("validation_failed", "no such user", "user");
      return store.tokens.list(user.id);
    },

    /** Revokes a token at once: it answers 401 from the next request on. */
    async revoke(caller: Caller, id: number): Promise<TokenRecord> {
      const token = await findVisible(caller, id);
      await store.transaction(async (tx) => {
        await tx.tokens.delete(token.id);
        await tx.audit.append(caller.actor, [
          {
            action: "token.revoke",
            userId: token.user_id,
            imageId: null,
            target: `tokens/${token.id}`,
            old: presentForAudit(token),
            new: null,
          },
        ]);
      });
      lastTouched.delete(token.id);
      return token;
    },
  };
}

export type TokensService = ReturnType<typeof createTokensService>;
