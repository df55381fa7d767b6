import type { Context } from "hono";
import type { TokensService } from "../accounts/tokens-service.ts";
import { tokensEqual } from "../auth/tokens.ts";
import { presentedToken } from "./auth.ts";
import { clientAddress } from "./client-address.ts";
import type { ObserverCheck } from "./health-routes.ts";
import { ProblemError } from "./problem.ts";
import { type Limiter, tooManyRequests } from "./rate-limit.ts";

/**
 * Tells the operator (the admin token, an admin-scope token, or METRICS_TOKEN for scrapers) from
 * users and strangers, for /metrics and the details of /readyz. Failed attempts count against
 * the client address like any other failed authentication.
 */
export function createObserverCheck(options: {
  readonly adminToken: string;
  readonly metricsToken: string | undefined;
  readonly tokens: Pick<TokensService, "authenticate">;
  readonly failures: Limiter;
}): ObserverCheck {
  return async (c: Context) => {
    const authorization = c.req.header("authorization");
    if (authorization === undefined) return "none";
    const presented = presentedToken(authorization);
    const address = clientAddress(c);
    const refused = await options.failures.refusedFor(address);
    if (refused !== undefined) {
      throw tooManyRequests(c, refused, "rate_limited", "too many failed authentications");
    }
    if (presented !== undefined) {
      if (tokensEqual(presented, options.adminToken)) return "observer";
      if (options.metricsToken !== undefined && tokensEqual(presented, options.metricsToken))
        return "observer";
      const token = await options.tokens.authenticate(presented);
      if (token !== undefined) return token.scope === "admin" ? "observer" : "user";
    }
    const retryAfter = await options.failures.hit(address);
    if (retryAfter !== undefined) {
      throw tooManyRequests(c, retryAfter, "rate_limited", "too many failed authentications");
    }
    c.header("www-authenticate", 'Bearer realm="orchestrator", error="invalid_token"');
    throw new ProblemError("unauthorized", "the bearer token is not valid");
  };
}
