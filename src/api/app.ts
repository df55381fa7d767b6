import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { TokensRepository } from "../store/tokens-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { requireToken } from "./auth.ts";
import { toProblem } from "./error-mapping.ts";
import { type HealthRoutesOptions, healthRoutes } from "./health-routes.ts";
import { ProblemError, problemResponse } from "./problem.ts";
import { requestLog } from "./request-log.ts";
import { tokensRoutes } from "./tokens-routes.ts";

export type AppDependencies = {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: HealthRoutesOptions["readiness"];
  readonly adminToken: string;
  readonly adminUserId: number;
  readonly tokens: TokensRepository;
  /**
   * Resource routers mounted under /api, behind authentication, in order: several may share a
   * path (the first whose handler answers wins; a handler may pass with `next()`).
   */
  readonly apiRoutes?: ReadonlyArray<readonly [path: string, routes: Hono<AppEnv>]>;
};

/** The HTTP application: probes, then every /api route behind a bearer token. */
export function createApp(deps: AppDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestId({ limitLength: 64 }));
  app.use(requestLog(deps.logger, deps.metrics));

  app.route("/", healthRoutes({ metrics: deps.metrics, readiness: deps.readiness }));

  const api = new Hono<AppEnv>();
  api.use(
    requireToken({
      adminToken: deps.adminToken,
      adminUserId: deps.adminUserId,
      tokens: deps.tokens,
    }),
  );
  api.route("/tokens", tokensRoutes(deps.tokens));
  api.get("/whoami", (c) => {
    const principal = c.get("principal");
    return c.json({
      user: principal.userName,
      user_id: String(principal.userId),
      admin: principal.isAdmin,
    });
  });
  for (const [path, routes] of deps.apiRoutes ?? []) api.route(path, routes);
  app.route("/api", api);

  app.notFound((c) =>
    problemResponse(c, new ProblemError("not_found", `no route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError((error, c) => {
    const problem = toProblem(error);
    if (problem !== undefined) return problemResponse(c, problem);
    const log = c.get("log") ?? deps.logger;
    log.error({ err: error }, "unhandled error in request");
    return problemResponse(
      c,
      new ProblemError(
        "internal",
        "something went wrong; see the service log with this request_id",
      ),
    );
  });
  return app;
}
