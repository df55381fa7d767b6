import type { MiddlewareHandler } from "hono";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { AppEnv } from "./app-env.ts";

/**
 * One log line per request (constant message, variable fields) with its request id, and the
 * request histogram keyed by route pattern so that ids never explode the label set.
 */
export function requestLog(logger: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestLogger = logger.child({ requestId: c.get("requestId") });
    c.set("log", requestLogger);
    await next();
    const durationSeconds = (performance.now() - started) / 1000;
    const route = c.req.routePath || "unmatched";
    const status = c.res.status;
    metrics.httpRequestDuration.observe(
      { method: c.req.method, route, status: String(status) },
      durationSeconds,
    );
    const fields = {
      method: c.req.method,
      path: c.req.path,
      route,
      status,
      durationMs: Math.round(durationSeconds * 1000 * 10) / 10,
      userId: c.get("principal")?.userId,
    };
    if (status >= 500) requestLogger.error(fields, "request failed");
    else if (c.req.path === "/healthz" || c.req.path === "/metrics")
      requestLogger.debug(fields, "request");
    else requestLogger.info(fields, "request");
  };
}
