/**
 * `autoscale.metric: requests_per_second` end to end: the hostname router (fed by the API's
 * event stream, as `orchestrator router --source sse` runs it) serves the image's
 * `app_hostname`, the controller scrapes the router's /metrics (ROUTER_METRICS_URL) for the
 * per-host request rate, and requests made on 127.0.0.1 through the router (at most 4000, about
 * 25 a second, only while the test waits for the scale-up) take the image from 1 to 3 and,
 * once they stop, back to 1 after the 10 s window. Conditions with generous timeouts only.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Orchestrator } from "../../src/client/index.ts";
import { createLogger } from "../../src/logger.ts";
import { type Router, startRouter } from "../../src/router/router.ts";
import { startSseSource } from "../../src/router/sse-source.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const hostname = "rps-autoscale.example.test";

/** One GET through the router with the app's Host; resolves with the status (0: no answer). */
function throughRouter(port: number): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: "127.0.0.1", port, path: "/index.html", headers: { host: hostname }, agent: false },
      (response) => {
        response.resume();
        response.once("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.setTimeout(10_000, () => request.destroy());
    request.once("error", () => resolve(0));
  });
}

/** About `perSecond` requests a second, two at a time, until stopped or `maxRequests` sent. */
function startLoad(port: number, perSecond: number, maxRequests: number) {
  let sent = 0;
  let ok = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && sent < maxRequests) {
      sent += 1;
      const started = Date.now();
      if ((await throughRouter(port)) === 200) ok += 1;
      const pause = 2_000 / perSecond - (Date.now() - started);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };
  const workers = Promise.all([worker(), worker()]);
  return {
    counts: () => ({ sent, ok }),
    async stop() {
      stopped = true;
      await workers;
    },
  };
}

describe("the autoscaler by requests per second through the router", () => {
  let router: Router;
  let server: TestServer;
  let source: ReturnType<typeof startSseSource> | undefined;
  let imageId: number | undefined;

  beforeAll(async () => {
    const logger = createLogger(process.env.TEST_LOG_LEVEL ?? "silent");
    // The router's /metrics asks for ROUTER_METRICS_TOKEN, which the controller sends.
    const metricsToken = "router-metrics-token";
    router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      metrics: { host: "127.0.0.1", port: 0, token: metricsToken },
      logger,
    });
    server = await startTestServer({
      env: {
        HEALTH_INTERVAL_SECONDS: "1",
        AUTOSCALE_INTERVAL_SECONDS: "1",
        ROUTER_METRICS_URL: `${router.metricsUrl}/metrics`,
        ROUTER_METRICS_TOKEN: metricsToken,
      },
    });
    const client = new Orchestrator({ url: server.url, token: server.adminToken });
    source = startSseSource(client, (event) => router.apply(event), logger);
    source.done.catch(() => undefined);
  });

  afterAll(async () => {
    if (imageId !== undefined) {
      await server.request("DELETE", `/api/images/${imageId}`);
      await waitFor(
        async () => (await server.request("GET", `/api/images/${imageId}`)).status,
        (status) => status === 404,
        { what: "the image gone", timeoutMs: 60_000 },
      ).catch(() => undefined);
    }
    source?.stop();
    await server?.stop();
    await router?.close();
  });

  it("scales 1 → 3 under load through the router and back to 1 once it stops", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "rps",
        image: testImages.httpd,
        app_hostname: hostname,
        min_instances: 1,
        max_instances: 3,
        cpu_limit: "0.1",
        memory_limit: "16m",
        autoscale: {
          metric: "requests_per_second",
          target: 2,
          scale_up_step: 1,
          scale_down_stabilization: "10s",
        },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    imageId = created.body.id;
    // The router routes it once its instance started.
    await waitFor(
      () => throughRouter(router.port),
      (status) => status === 200,
      { what: "the router serving the app", timeoutMs: 60_000 },
    );

    const load = startLoad(router.port, 25, 4_000);
    try {
      await waitFor(
        async () => (await server.request("GET", `/api/images/${imageId}`)).body,
        (image) => image.desired_instances === 3,
        { what: "scaled up to 3", timeoutMs: 240_000, intervalMs: 1_000 },
      );
    } finally {
      await load.stop();
    }
    expect(load.counts().sent).toBeLessThanOrEqual(4_000);
    expect(load.counts().ok).toBeGreaterThan(0);

    await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).body,
      (image) => image.desired_instances === 1,
      { what: "scaled back down to 1", timeoutMs: 240_000, intervalMs: 1_000 },
    );
    const events = (
      await server.request("GET", `/api/events?image_id=${imageId}&type=image.scaled&limit=100`)
    ).body.items.map((event: any) => event.data);
    const ups = events.filter((data: any) => data.to > data.from);
    expect(ups[0]).toMatchObject({ metric: "requests_per_second", target: 2, from: 1, to: 2 });
    expect(ups[0].value).toBeGreaterThan(2);
    expect(ups.at(-1).to).toBe(3);
    expect(events.at(-1)).toMatchObject({ metric: "requests_per_second", to: 1 });
    expect(events.at(-1).value).toBeLessThan(2);

    const view = (await server.request("GET", `/api/images/${imageId}/autoscale`)).body;
    expect(view.current).toMatchObject({ metric: "requests_per_second", target: 2 });
    expect(view.current.value).toBeLessThan(2);
  });
});
