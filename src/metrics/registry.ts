import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram } from "prom-client";

/**
 * prom-client's gauges that end in `_total`: Prometheus reserves the suffix for counters, so
 * `promtool check metrics` rejects them. Each one is the sum of the gauge of the same name
 * without the suffix (`sum(nodejs_active_handles)`), which stays.
 */
const gaugesNamedLikeCounters = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
] as const;

/**
 * The Prometheus registry of one service process; the only importer of prom-client. Node's
 * standard series keep their usual names (`process_*`, `nodejs_*`) so that stock dashboards and
 * alerts find them; the service's own series start with `orchestrator_`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of gaugesNamedLikeCounters) registry.removeSingleMetric(name);
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

/** A registry with Node's standard series only, for a process other than the service (the router). */
export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of gaugesNamedLikeCounters) registry.removeSingleMetric(name);
  return registry;
}

export type { Registry } from "prom-client";
