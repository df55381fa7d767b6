import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram } from "prom-client";

/** The Prometheus registry of one service process; the only importer of prom-client. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "orchestrator_" });
  const httpRequestDuration = new Histogram({
    name: "orchestrator_http_request_duration_seconds",
    help: "HTTP request duration by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, httpRequestDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;

export type { Registry } from "prom-client";
