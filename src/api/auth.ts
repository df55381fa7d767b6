import type { Context, MiddlewareHandler } from "hono";
import type { TokensService } from "../accounts/tokens-service.ts";
import { presentedToken, tokensEqual } from "../auth/tokens.ts";
import { isReadMethod } from "../domain/token-scope.ts";
import type { AppEnv, Principal } from "./app-env.ts";
import { clientAddress } from "./client-address.ts";
import { ProblemError } from "./problem.ts";
import { type Limiter, tooManyRequests } from "./rate-limit.ts";
import { type CsrfKey, csrfHeaderName, csrfTokenValid, sessionToken } from "./session-cookie.ts";

export type AuthOptions = {
  readonly adminToken: string;
  readonly adminUserId: number;
  readonly tokens: Pick<TokensService, "authenticate">;
  /** Failed authentications per client address; over the limit the address is refused a while. */
  readonly failures: Limiter;
  /**
   * Set: a request without an Authorization header may authenticate with the dashboard's
   * session cookie instead; a write so authenticated must carry the session's CSRF token in
   * `X-CSRF-Token` (reads need none: the cookie is SameSite=Strict and reads change nothing).
   */
  readonly csrf?: CsrfKey;
};

const guessing = (seconds: number) =>
  `too many failed authentications from this address; retry after ${seconds} s`;

/**
 * The client's address, unless it is refused (429) for too many failed attempts: checked before
 * a presented token is, so that guessing gets nowhere, a right guess included.
 */
export async function refuseGuesser(c: Context, failures: Limiter): Promise<string> {
  const address = clientAddress(c);
  const refused = await failures.refusedFor(address);
  if (refused !== undefined) throw tooManyRequests(c, refused, "rate_limited", guessing(refused));
  return address;
}

/** A token that is not valid: counted against the address, and answered 401 (or 429 past the limit). */
export async function refuseToken(c: Context, failures: Limiter, address: string): Promise<never> {
  const retryAfter = await failures.hit(address);
  if (retryAfter !== undefined) {
    throw tooManyRequests(c, retryAfter, "rate_limited", guessing(retryAfter));
  }
  c.header("www-authenticate", 'Bearer realm="orchestrator", error="invalid_token"');
  throw new ProblemError("unauthorized", "the bearer token is not valid");
}

/**
 * Requires `Authorization: Bearer <token>`: the admin token, or a user token that exists (not
 * revoked) and has not expired. A read-only token may only read. Failed attempts count per client
 * address: past AUTH_FAILURES_PER_MINUTE the address is refused (429) for a minute, valid token
 * or not, so that guessing gets nowhere.
 */
export function requireToken(options: AuthOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const presented = presentedCredential(c, options.csrf);
    if (presented === undefined) {
      c.header("www-authenticate", 'Bearer realm="orchestrator"');
      throw new ProblemError("unauthorized", "send Authorization: Bearer <token>");
    }
    const address = await refuseGuesser(c, options.failures);
    const principal = await authenticate(options, presented, c.get("requestId"));
    if (principal === undefined) return refuseToken(c, options.failures, address);
    if (principal.scope === "read" && !isReadMethod(c.req.method)) {
      throw new ProblemError("forbidden", "this token is read-only");
    }
    c.set("principal", principal);
    await next();
  };
}

/**
 * The bearer token; without an Authorization header, the session cookie's token (when the
 * dashboard is on), refused for a write that lacks the session's CSRF token.
 */
function presentedCredential(c: Context, csrf: CsrfKey | undefined): string | undefined {
  const header = c.req.header("authorization");
  if (header !== undefined || csrf === undefined) return presentedToken(header);
  const fromCookie = sessionToken(c);
  if (fromCookie === undefined) return undefined;
  if (
    !isReadMethod(c.req.method) &&
    !csrfTokenValid(csrf, fromCookie, c.req.header(csrfHeaderName))
  ) {
    throw new ProblemError(
      "forbidden",
      "a write with the session cookie needs the session's X-CSRF-Token header",
    );
  }
  return fromCookie;
}

export async function authenticate(
  options: Pick<AuthOptions, "adminToken" | "adminUserId" | "tokens">,
  presented: string,
  requestId: string,
): Promise<Principal | undefined> {
  if (tokensEqual(presented, options.adminToken)) {
    return {
      userId: options.adminUserId,
      userName: "admin",
      isAdmin: true,
      scope: "admin",
      tokenId: null,
      actor: {
        userId: options.adminUserId,
        name: "admin",
        tokenId: null,
        tokenName: "admin-token",
        requestId,
      },
    };
  }
  const token = await options.tokens.authenticate(presented);
  if (token === undefined) return undefined;
  return {
    userId: token.user_id,
    userName: token.user_name,
    isAdmin: token.scope === "admin",
    scope: token.scope,
    tokenId: token.id,
    actor: {
      userId: token.user_id,
      name: token.user_name,
      tokenId: token.id,
      tokenName: token.name,
      requestId,
    },
  };
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.get("principal").isAdmin) {
      throw new ProblemError("forbidden", "this route needs the admin token");
    }
    await next();
  };
}
