import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { TokensService } from "../accounts/tokens-service.ts";
import type { UsersService } from "../accounts/users-service.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/registry.ts";
import { packageVersion } from "../package-version.ts";
import type { AuditRepository } from "../store/audit-repository.ts";
import { dashboardRoutes } from "../ui/dashboard-routes.ts";
import type { AppEnv } from "./app-env.ts";
import { auditRoutes } from "./audit-routes.ts";
import { requireToken } from "./auth.ts";
import { limitBodies, limitUploads, refuseNulInQuery } from "./bounded-input.ts";
import { databaseDeadline } from "./database-deadline.ts";
import { toProblem } from "./error-mapping.ts";
import { type HealthRoutesOptions, healthRoutes } from "./health-routes.ts";
import { createObserverCheck } from "./observer.ts";
import { apiVersion, docsRoutes } from "./openapi/docs-routes.ts";
import { type ContractViolation, checkResponses } from "./openapi/response-check.ts";
import { documented } from "./openapi/route-doc.ts";
import { ProblemError, problemResponse } from "./problem.ts";
import { quotaRoutes } from "./quota-routes.ts";
import { createLimiter, limitWrites } from "./rate-limit.ts";
import { requestLog } from "./request-log.ts";
import { whoamiSchema } from "./schemas/account-schemas.ts";
import { versionSchema } from "./schemas/probe-schemas.ts";
import { newCsrfKey } from "./session-cookie.ts";
import { tokensRoutes } from "./tokens-routes.ts";
import { usersRoutes } from "./users-routes.ts";

/** What a request may bring and how often (see the configuration table in README.md). */
export type RequestLimits = {
  readonly bodyMaxBytes: number;
  readonly uploadMaxConcurrent: number;
  readonly writesPerMinute: number;
  readonly authFailuresPerMinute: number;
};

export type AppDependencies = {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly readiness: HealthRoutesOptions["readiness"];
  readonly adminToken: string;
  readonly adminUserId: number;
  /** A token for scrapers: /metrics and the details of /readyz, nothing else. */
  readonly metricsToken: string | undefined;
  readonly tokens: TokensService;
  readonly users: UsersService;
  readonly audit: Pick<AuditRepository, "list">;
  readonly limits: RequestLimits;
  /** Whether the database answers now (bounded): a request stuck on it answers 503. */
  readonly databaseReachable?: () => Promise<boolean>;
  /**
   * Resource routers mounted under /api, behind authentication, in order: several may share a
   * path (the first whose handler answers wins; a handler may pass with `next()`).
   */
  readonly apiRoutes?: ReadonlyArray<readonly [path: string, routes: Hono<AppEnv>]>;
  /**
   * Called for every answer that differs from its route's documentation (the test servers
   * fail the suite on one); unset, answers are not checked.
   */
  readonly onContractViolation?: (violation: ContractViolation) => void;
};

/**
 * The HTTP application: probes, then every /api route behind a bearer token, in this order:
 * authentication (failed attempts throttled per address, read-only tokens only read), the
 * per-token write budget, no NUL in the query, the body limit (uploads have their own), the
 * cap on uploads at once, and the route.
 */
export function createApp(deps: AppDependencies): Hono<AppEnv> {
  // Not strict: `/api/containers/` is `/api/containers`, as the original service documented.
  const app = new Hono<AppEnv>({ strict: false });
  app.use(requestId({ limitLength: 64 }));
  app.use(requestLog(deps.logger, deps.metrics));
  if (deps.onContractViolation !== undefined) app.use(checkResponses(deps.onContractViolation));

  const failures = createLimiter({
    points: deps.limits.authFailuresPerMinute,
    durationSeconds: 60,
    blockSeconds: 60,
  });
  const observer = createObserverCheck({
    adminToken: deps.adminToken,
    metricsToken: deps.metricsToken,
    tokens: deps.tokens,
    failures,
  });
  app.route("/", healthRoutes({ metrics: deps.metrics, readiness: deps.readiness, observer }));
  app.route(
    "/",
    docsRoutes(() => app.routes),
  );
  // The dashboard logs in with a token kept in a cookie, which /api accepts too (CSRF-checked).
  const csrf = newCsrfKey();
  const dashboardAuth = { adminToken: deps.adminToken, adminUserId: deps.adminUserId };
  app.route("/", dashboardRoutes({ ...dashboardAuth, tokens: deps.tokens, failures, csrf }));

  const api = new Hono<AppEnv>();
  const databaseReachable = deps.databaseReachable;
  if (databaseReachable !== undefined) {
    api.use(databaseDeadline({ afterMs: 10_000, reachable: databaseReachable }));
  }
  api.use(
    requireToken({
      adminToken: deps.adminToken,
      adminUserId: deps.adminUserId,
      tokens: deps.tokens,
      failures,
      csrf,
    }),
  );
  api.use(limitWrites(createLimiter({ points: deps.limits.writesPerMinute, durationSeconds: 60 })));
  api.use(refuseNulInQuery());
  api.use(limitBodies(deps.limits.bodyMaxBytes));
  api.use(limitUploads(deps.limits.uploadMaxConcurrent));
  api.route("/tokens", tokensRoutes(deps.tokens));
  api.route("/users", usersRoutes(deps.users));
  api.route("/quota", quotaRoutes(deps.users));
  api.route("/audit", auditRoutes({ audit: deps.audit, users: deps.users }));
  api.get(
    "/whoami",
    documented({
      summary: "Who this token is",
      tags: ["accounts"],
      responses: { 200: { description: "The caller", body: whoamiSchema } },
    }),
    (c) => {
      const principal = c.get("principal");
      return c.json({
        user: principal.userName,
        user_id: String(principal.userId),
        admin: principal.isAdmin,
        scope: principal.scope,
        token_id: principal.tokenId,
      });
    },
  );
  api.get(
    "/version",
    documented({
      summary: "The server's version (package, HTTP contract, Node)",
      tags: ["accounts"],
      responses: { 200: { description: "The versions", body: versionSchema } },
    }),
    (c) => c.json({ version: packageVersion(), api_version: apiVersion, node: process.version }),
  );
  for (const [path, routes] of deps.apiRoutes ?? []) api.route(path, routes);
  app.route("/api", api);

  app.notFound((c) =>
    problemResponse(c, new ProblemError("not_found", `no route for ${c.req.method} ${c.req.path}`)),
  );
  app.onError((error, c) => {
    const problem = toProblem(error);
    if (problem !== undefined) {
      if (problem.code === "unavailable") c.header("retry-after", "5");
      if (problem.code === "pool_exhausted")
        c.header("retry-after", String(problem.extensions?.["retry_after"] ?? 5));
      return problemResponse(c, problem);
    }
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
