import type { MiddlewareHandler } from "hono";
import { hashToken, tokensEqual } from "../auth/tokens.ts";
import type { TokensRepository } from "../store/tokens-repository.ts";
import type { AppEnv, Principal } from "./app-env.ts";
import { ProblemError } from "./problem.ts";

export type AuthOptions = {
  readonly adminToken: string;
  readonly adminUserId: number;
  readonly tokens: TokensRepository;
};

/** Requires `Authorization: Bearer <token>`: the admin token, or a user token stored as a hash. */
export function requireToken(options: AuthOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    const match =
      header === undefined ? null : /^Bearer\s+([A-Za-z0-9._~+/=-]{8,512})\s*$/i.exec(header);
    const presented = match?.[1];
    if (presented === undefined) {
      c.header("www-authenticate", 'Bearer realm="orchestrator"');
      throw new ProblemError("unauthorized", "send Authorization: Bearer <token>");
    }
    let principal: Principal | undefined;
    if (tokensEqual(presented, options.adminToken)) {
      principal = { userId: options.adminUserId, userName: "admin", isAdmin: true };
    } else {
      const owner = await options.tokens.findOwnerByHash(hashToken(presented));
      if (owner !== undefined) principal = { ...owner, isAdmin: false };
    }
    if (principal === undefined) {
      c.header("www-authenticate", 'Bearer realm="orchestrator", error="invalid_token"');
      throw new ProblemError("unauthorized", "the bearer token is not valid");
    }
    c.set("principal", principal);
    await next();
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
