import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.ts";
import { createRouterRates, ratesBetween, requestTotals, summedRates } from "./router-rates.ts";

const metrics = (shop: number, api: number) => `# HELP orchestrator_router_requests_total Requests
# TYPE orchestrator_router_requests_total counter
orchestrator_router_requests_total{host="shop.example.com",status="200"} ${shop}
orchestrator_router_requests_total{host="shop.example.com",status="502"} 2
orchestrator_router_requests_total{host="api.example.com",status="200"} ${api}
orchestrator_router_requests_total{host="unknown",status="404"} 40
orchestrator_router_upstreams{host="idle.example.com"} 1
orchestrator_router_upstreams{host="shop.example.com"} 2
orchestrator_router_request_duration_seconds_count{host="shop.example.com"} 99
`;

describe("requestTotals", () => {
  it("sums every status per host, leaves out unknown hosts, and knows idle ones at 0", () => {
    expect(requestTotals(metrics(10, 5))).toEqual(
      new Map([
        ["idle.example.com", 0],
        ["shop.example.com", 12],
        ["api.example.com", 5],
      ]),
    );
  });
});

describe("ratesBetween", () => {
  it("divides the increase by the seconds between scrapes", () => {
    const rates = ratesBetween(requestTotals(metrics(10, 5)), requestTotals(metrics(40, 5)), 10);
    expect(rates.get("shop.example.com")).toBe(3);
    expect(rates.get("api.example.com")).toBe(0);
    expect(rates.get("idle.example.com")).toBe(0);
  });

  it("counts from zero after a counter reset (the router restarted), and a new host from zero", () => {
    const before = new Map([["shop.example.com", 500]]);
    const after = new Map([
      ["shop.example.com", 20],
      ["new.example.com", 10],
    ]);
    expect(ratesBetween(before, after, 5)).toEqual(
      new Map([
        ["shop.example.com", 4],
        ["new.example.com", 2],
      ]),
    );
    expect(ratesBetween(before, after, 0).size).toBe(0);
  });
});

describe("summedRates", () => {
  it("sums per host over the routers; a host one router never saw counts 0 there", () => {
    const sums = summedRates([
      new Map([
        ["shop.example.com", 3],
        ["api.example.com", 1],
      ]),
      new Map([["shop.example.com", 2]]),
    ]);
    expect(sums).toEqual(
      new Map([
        ["shop.example.com", 5],
        ["api.example.com", 1],
      ]),
    );
  });

  it("is unknown when one router has no rate (a partial sum would look like less traffic)", () => {
    expect(summedRates([new Map([["shop.example.com", 3]]), undefined])).toBeUndefined();
    expect(summedRates([])).toBeUndefined();
  });
});

/** A loopback stand-in for a router's /metrics: answers the counter the test sets, or 503. */
async function fakeRouter(token?: string) {
  const state = { shop: 0, up: true };
  const server = http.createServer((request, response) => {
    if (!state.up) {
      response.writeHead(503).end();
      return;
    }
    if (token !== undefined && request.headers.authorization !== `Bearer ${token}`) {
      response.writeHead(401).end();
      return;
    }
    response.writeHead(200, { "content-type": "text/plain" });
    response.end(
      `orchestrator_router_requests_total{host="shop.example.com",status="200"} ${state.shop}\n`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("createRouterRates over several routers", () => {
  const opened: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((router) => router.close()));
  });

  it("sends its token to routers that ask for one; without it there is no rate", async () => {
    const router = await fakeRouter("metrics-secret");
    opened.push(router);
    let clock = 0;
    const scrapes = (token?: string) =>
      createRouterRates({
        urls: [router.url],
        logger: createLogger("silent"),
        ...(token === undefined ? {} : { token }),
        now: () => clock,
      });
    const withToken = scrapes("metrics-secret");
    const without = scrapes();
    await Promise.all([withToken.refresh(), without.refresh()]);
    router.state.shop = 50;
    clock = 10_000;
    await Promise.all([withToken.refresh(), without.refresh()]);
    expect(withToken.rateOf("shop.example.com")).toBe(5);
    expect(without.rateOf("shop.example.com")).toBeUndefined();
  });

  it("sums the routers' rates per host; a router that does not answer makes the rate unknown, not 0", async () => {
    const [a, b] = [await fakeRouter(), await fakeRouter()];
    opened.push(a, b);
    let clock = 0;
    const rates = createRouterRates({
      urls: [a.url, b.url],
      logger: createLogger("silent"),
      now: () => clock,
    });
    await rates.refresh();
    // One scrape of each: no rate yet.
    expect(rates.rateOf("shop.example.com")).toBeUndefined();
    a.state.shop = 30;
    b.state.shop = 10;
    clock = 10_000;
    await rates.refresh();
    expect(rates.rateOf("Shop.Example.com")).toBe(4);
    expect(rates.rateOf("nobody.example.com")).toBeUndefined();

    // b does not answer: this round has no rate at all (the autoscaler holds).
    b.state.up = false;
    a.state.shop = 130;
    clock = 20_000;
    await rates.refresh();
    expect(rates.rateOf("shop.example.com")).toBeUndefined();

    // b answers again: its rate covers the time since its last good scrape (20 s).
    b.state.up = true;
    b.state.shop = 50;
    a.state.shop = 150;
    clock = 30_000;
    await rates.refresh();
    expect(rates.rateOf("shop.example.com")).toBe(2 + 2);
  });

  it("does the same when a router's address refuses the connection", async () => {
    const a = await fakeRouter();
    const gone = await fakeRouter();
    await gone.close();
    opened.push(a);
    let clock = 0;
    const rates = createRouterRates({
      urls: [a.url, gone.url],
      logger: createLogger("silent"),
      now: () => clock,
    });
    await rates.refresh();
    a.state.shop = 50;
    clock = 10_000;
    await rates.refresh();
    expect(rates.rateOf("shop.example.com")).toBeUndefined();
    // With the one router alone, the same scrapes give its rate.
    const alone = createRouterRates({
      urls: [a.url],
      logger: createLogger("silent"),
      now: () => clock,
    });
    await alone.refresh();
    a.state.shop = 80;
    clock = 20_000;
    await alone.refresh();
    expect(alone.rateOf("shop.example.com")).toBe(3);
  });
});
