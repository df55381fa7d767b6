import { describe, expect, it } from "vitest";
import { ratesBetween, requestTotals } from "./router-rates.ts";

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
