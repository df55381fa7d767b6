import type { Context } from "hono";
import type { TokensService } from "../accounts/tokens-service.ts";
import { presentedToken, tokensEqual } from "../auth/tokens.ts";
import { refuseGuesser, refuseToken } from "./auth.ts";
import type { ObserverCheck } from "./health-routes.ts";
import type { Limiter } from "./rate-limit.ts";

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
    const address = await refuseGuesser(c, options.failures);
    const presented = presentedToken(authorization);
    if (presented !== undefined) {
      if (tokensEqual(presented, options.adminToken)) return "observer";
      if (options.metricsToken !== undefined && tokensEqual(presented, options.metricsToken))
        return "observer";
      const token = await options.tokens.authenticate(presented);
      if (token !== undefined) return token.scope === "admin" ? "observer" : "user";
    }
    return refuseToken(c, options.failures, address);
  };
}
