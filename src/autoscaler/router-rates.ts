import type { Logger } from "../logger.ts";

/**
 * Requests per second per app hostname, from the hostname router's `/metrics`
 * (`orchestrator router`, ROUTER_METRICS_URL): the counter
 * `orchestrator_router_requests_total{host,status}` summed per host, as a rate between two
 * scrapes. The router needs no knowledge of the autoscaler. Several routers (ROUTER_METRICS_URL
 * is a comma-separated list) are each scraped and their rates summed per host; scraping them
 * through one load-balanced URL would count one router at a time, so each is named.
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

/**
 * The rates of several routers summed per hostname, or undefined when one of them has no rate
 * (it did not answer, or has had one good scrape only): a partial sum would look like a drop
 * in traffic and scale down. A hostname no router knows is undefined too. Pure.
 */
export function summedRates(
  perRouter: readonly (ReadonlyMap<string, number> | undefined)[],
): Map<string, number> | undefined {
  if (perRouter.length === 0) return undefined;
  const sums = new Map<string, number>();
  for (const rates of perRouter) {
    if (rates === undefined) return undefined;
    for (const [host, rate] of rates) sums.set(host, (sums.get(host) ?? 0) + rate);
  }
  return sums;
}

export type RequestRates = {
  /** Scrapes every router once more; the rates then cover the time since each one's last. */
  refresh(): Promise<void>;
  /**
   * Requests per second for this hostname, summed over the routers; undefined while unknown
   * (a router did not answer this time, or no two good scrapes of each yet).
   */
  rateOf(hostname: string | null): number | undefined;
};

/** One router's scrapes: its last good totals, and its rates from the last refresh. */
type RouterScrapes = {
  readonly url: string;
  previous: { at: number; totals: Map<string, number> } | undefined;
  rates: Map<string, number> | undefined;
  failing: boolean;
};

/**
 * The request rates of the routers behind ROUTER_METRICS_URL (one or more URLs), scraped
 * together once per autoscaler round. A router that does not answer makes this round's rates
 * unknown (the decision then has no samples and holds, never a flap to zero); its last good
 * scrape is kept, so once it answers again its rate covers the time since then.
 */
export function createRouterRates(options: {
  readonly urls: readonly string[];
  readonly logger: Logger;
  /** Sent as a bearer token (METRICS_TOKEN: the routers ask for it when they have it too). */
  readonly token?: string;
  readonly timeoutMs?: number;
  readonly now?: () => number;
}): RequestRates {
  const now = options.now ?? Date.now;
  const routers: RouterScrapes[] = options.urls.map((url) => ({
    url,
    previous: undefined,
    rates: undefined,
    failing: false,
  }));
  let sums: Map<string, number> | undefined;

  async function scrape(router: RouterScrapes): Promise<void> {
    try {
      const response = await fetch(router.url, {
        signal: AbortSignal.timeout(options.timeoutMs ?? 3_000),
        ...(options.token === undefined
          ? {}
          : { headers: { authorization: `Bearer ${options.token}` } }),
      });
      if (!response.ok) throw new Error(`router metrics answered ${response.status}`);
      const totals = requestTotals(await response.text());
      const at = now();
      router.rates =
        router.previous === undefined
          ? undefined
          : ratesBetween(router.previous.totals, totals, (at - router.previous.at) / 1000);
      router.previous = { at, totals };
      if (router.failing)
        options.logger.info({ url: router.url }, "router metrics reachable again");
      router.failing = false;
    } catch (error) {
      // No rate this round: the sum is unknown, and the decision sees no samples and holds.
      router.rates = undefined;
      if (!router.failing)
        options.logger.warn({ url: router.url, err: error }, "router metrics unreachable");
      router.failing = true;
    }
  }

  return {
    async refresh() {
      await Promise.all(routers.map(scrape));
      sums = summedRates(routers.map((router) => router.rates));
    },
    rateOf(hostname) {
      if (hostname === null || sums === undefined) return undefined;
      // A hostname a router knows but never served is at rate 0; one none knows: unknown.
      return sums.get(hostname.toLowerCase());
    },
  };
}
