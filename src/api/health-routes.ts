import { type Context, Hono } from "hono";
import type { Metrics } from "../metrics/registry.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { ProblemError } from "./problem.ts";
import { livenessSchema, readinessSchema } from "./schemas/probe-schemas.ts";

export type ReadinessCheck = () => Promise<
  { ok: true; [detail: string]: unknown } | { ok: false; error: string }
>;

/**
 * Who asks for the operator's view (metrics, readiness details): `observer` for the admin token
 * or METRICS_TOKEN, `user` for any other valid token, `none` without one; an invalid token is
 * refused (401, and counted as a failed authentication).
 */
export type ObserverCheck = (c: Context) => Promise<"observer" | "user" | "none">;

export type HealthRoutesOptions = {
  readonly metrics: Metrics;
  /** Named checks that must all pass for /readyz, e.g. database and docker. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly observer: ObserverCheck;
};

/**
 * Probes: liveness for anyone, readiness for anyone as ready or not (the details of each check
 * only for the operator), Prometheus only for the operator (the series name tenants' images).
 */
export function healthRoutes(options: HealthRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/healthz",
    documented({
      summary: "Liveness",
      tags: ["probes"],
      public: true,
      responses: { 200: { description: "Alive", body: livenessSchema } },
    }),
    (c) => c.json({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    documented({
      summary: "Readiness: the database and the engine answer",
      description: "Anyone learns ready or not; the admin token or METRICS_TOKEN also each check.",
      tags: ["probes"],
      public: true,
      responses: {
        200: { description: "Ready", body: readinessSchema },
        503: { description: "Not ready", body: readinessSchema },
      },
    }),
    async (c) => {
      const caller = await options.observer(c);
      const entries = await Promise.all(
        Object.entries(options.readiness).map(async ([name, check]) => {
          try {
            return [name, await check()] as const;
          } catch (error) {
            return [name, { ok: false, error: (error as Error).message }] as const;
          }
        }),
      );
      const down = entries.filter(([, result]) => !result.ok).map(([name]) => name);
      const status = down.length === 0 ? "ready" : "not_ready";
      const code = down.length === 0 ? 200 : 503;
      if (caller !== "observer") return c.json({ status }, code);
      return c.json({ status, down, checks: Object.fromEntries(entries) }, code);
    },
  );

  app.get(
    "/metrics",
    documented({
      summary: "Prometheus metrics (the admin token or METRICS_TOKEN)",
      tags: ["probes"],
      responses: { 200: { description: "The scrape", media: "text/plain" } },
    }),
    async (c) => {
      const caller = await options.observer(c);
      if (caller === "none") {
        c.header("www-authenticate", 'Bearer realm="orchestrator"');
        throw new ProblemError(
          "unauthorized",
          "send the admin token or METRICS_TOKEN as a bearer token",
        );
      }
      if (caller === "user")
        throw new ProblemError("forbidden", "metrics need the admin token or METRICS_TOKEN");
      const text = await options.metrics.registry.metrics();
      return c.body(text, 200, { "content-type": options.metrics.registry.contentType });
    },
  );

  return app;
}
