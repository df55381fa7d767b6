import type { Logger } from "../logger.ts";

/**
 * Requests per second per app hostname, from the hostname router's `/metrics`
 * (`orchestrator router`, ROUTER_METRICS_URL): the counter
 * `orchestrator_router_requests_total{host,status}` summed per host, as a rate between two
 * scrapes. The router needs no knowledge of the autoscaler, and several routers behind one
 * scrape target (a load balancer) would each be counted when scraped one by one.
 */

const requestsSeries = /^orchestrator_router_requests_total\{([^}]*)\}\s+(\S+)/;
/** A hostname the router routes but never served has no request series yet: its rate is 0. */
const upstreamsSeries = /^orchestrator_router_upstreams\{([^}]*)\}\s/;
const hostLabel = /(?:^|,)host="([^"]*)"/;

/** Total requests per host in one `/metrics` text (every status summed). Pure. */
export function requestTotals(metricsText: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of metricsText.split("\n")) {
    const known = hostLabel.exec(upstreamsSeries.exec(line)?.[1] ?? "")?.[1];
    if (known !== undefined && !totals.has(known)) totals.set(known, 0);
    const match = requestsSeries.exec(line);
    if (match === null) continue;
    const host = hostLabel.exec(match[1] ?? "")?.[1];
    const value = Number(match[2]);
    if (host === undefined || host === "unknown" || !Number.isFinite(value)) continue;
    totals.set(host, (totals.get(host) ?? 0) + value);
  }
  return totals;
}

/**
 * Per-second rates between two scrapes. A counter that went down (the router restarted)
 * counts from zero, as Prometheus' rate() does. Pure.
 */
export function ratesBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  seconds: number,
): Map<string, number> {
  const rates = new Map<string, number>();
  if (seconds <= 0) return rates;
  for (const [host, total] of after) {
    const previous = before.get(host) ?? 0;
    const increase = total >= previous ? total - previous : total;
    rates.set(host, increase / seconds);
  }
  return rates;
}

export type RequestRates = {
  /** Scrapes once more; the rates then cover the time since the scrape before. */
  refresh(): Promise<void>;
  /** Requests per second for this hostname; undefined while unknown (no two good scrapes). */
  rateOf(hostname: string | null): number | undefined;
};

export function createRouterRates(options: {
  readonly url: string;
  readonly logger: Logger;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}): RequestRates {
  const now = options.now ?? Date.now;
  let previous: { at: number; totals: Map<string, number> } | undefined;
  let rates = new Map<string, number>();
  let failing = false;
  return {
    async refresh() {
      try {
        const response = await fetch(options.url, {
          signal: AbortSignal.timeout(options.timeoutMs ?? 3_000),
        });
        if (!response.ok) throw new Error(`router metrics answered ${response.status}`);
        const totals = requestTotals(await response.text());
        const at = now();
        rates =
          previous === undefined
            ? new Map()
            : ratesBetween(previous.totals, totals, (at - previous.at) / 1000);
        previous = { at, totals };
        if (failing) options.logger.info({ url: options.url }, "router metrics reachable again");
        failing = false;
      } catch (error) {
        // No rate while the router is away: the decision then sees no samples and holds.
        rates = new Map();
        previous = undefined;
        if (!failing)
          options.logger.warn({ url: options.url, err: error }, "router metrics unreachable");
        failing = true;
      }
    },
    rateOf(hostname) {
      if (hostname === null) return undefined;
      if (previous === undefined || rates.size === 0) return undefined;
      // A hostname the router knows but never served is at rate 0; one it does not know: unknown.
      return rates.get(hostname.toLowerCase());
    },
  };
}
