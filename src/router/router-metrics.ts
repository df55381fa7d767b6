import { Counter, createProcessRegistry, Gauge, Histogram } from "../metrics/registry.ts";

/**
 * The router's own series on its `/metrics`: requests by host and status, the time to answer
 * (including retries), retries to another instance, and ready upstreams per host. `host` is an
 * app hostname the table knows, or `unknown` (so a client cannot grow the label set).
 */
export function createRouterMetrics(bufferedBodyBytes: () => number = () => 0) {
  const registry = createProcessRegistry();
  const requests = new Counter({
    name: "orchestrator_router_requests_total",
    help: "Requests the router answered, by app hostname and HTTP status",
    labelNames: ["host", "status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "orchestrator_router_request_duration_seconds",
    help: "From the request to the upstream's response headers (or the router's own answer), by app hostname",
    labelNames: ["host"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const retries = new Counter({
    name: "orchestrator_router_upstream_retries_total",
    help: "Requests sent again to another instance after a connection failure, by app hostname",
    labelNames: ["host"] as const,
    registers: [registry],
  });
  const upstreams = new Gauge({
    name: "orchestrator_router_upstreams",
    help: "Ready instances the router sends new requests to, by app hostname",
    labelNames: ["host"] as const,
    registers: [registry],
  });
  const events = new Counter({
    name: "orchestrator_router_events_total",
    help: "Lifecycle events the router's table has read from its source",
    registers: [registry],
  });
  const wakes = new Counter({
    name: "orchestrator_router_wakes_total",
    help: "Calls asking the API to wake an image scaled to zero (--wake), by app hostname",
    labelNames: ["host"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "orchestrator_router_buffered_body_bytes",
    help: "Bytes of request bodies the router holds now, over all requests (see maxBufferedBytes)",
    registers: [registry],
    collect() {
      this.set(bufferedBodyBytes());
    },
  });
  /** The statuses counted per host: what forgetting a host removes from `requests`. */
  const statuses = new Map<string, Set<string>>();
  return {
    registry,
    retries,
    upstreams,
    events,
    wakes,
    /** One answered request: its count by status, and its time when it has one. */
    answered(host: string, status: number, seconds?: number) {
      const code = String(status);
      requests.inc({ host, status: code });
      if (seconds !== undefined) duration.observe({ host }, seconds);
      const counted = statuses.get(host);
      if (counted === undefined) statuses.set(host, new Set([code]));
      else counted.add(code);
    },
    /**
     * Removes every series of a hostname no image has any more (deleted, or renamed): a tenant
     * that keeps making and dropping hostnames cannot grow the router's series without end.
     */
    forgetHost(host: string) {
      for (const status of statuses.get(host) ?? []) requests.remove({ host, status });
      statuses.delete(host);
      duration.remove({ host });
      retries.remove({ host });
      wakes.remove({ host });
    },
  };
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
