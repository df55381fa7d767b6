import { Hono } from "hono";
import type { Metrics } from "../metrics/registry.ts";
import type { AppEnv } from "./app-env.ts";

export type ReadinessCheck = () => Promise<
  { ok: true; [detail: string]: unknown } | { ok: false; error: string }
>;

export type HealthRoutesOptions = {
  readonly metrics: Metrics;
  /** Named checks that must all pass for /readyz, e.g. database and docker. */
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
};

/** Unauthenticated probes for orchestrators and scrapers: liveness, readiness, Prometheus. */
export function healthRoutes(options: HealthRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    const entries = await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        try {
          return [name, await check()] as const;
        } catch (error) {
          return [name, { ok: false, error: (error as Error).message }] as const;
        }
      }),
    );
    const checks = Object.fromEntries(entries);
    const down = entries.filter(([, result]) => !result.ok).map(([name]) => name);
    return c.json(
      { status: down.length === 0 ? "ready" : "not_ready", down, checks },
      down.length === 0 ? 200 : 503,
    );
  });

  app.get("/metrics", async (c) => {
    const text = await options.metrics.registry.metrics();
    return c.body(text, 200, { "content-type": options.metrics.registry.contentType });
  });

  return app;
}
