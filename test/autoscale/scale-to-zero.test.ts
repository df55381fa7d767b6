/**
 * Scale to zero end to end: an image with `min_instances: 0` and
 * `autoscale.scale_to_zero_after` goes to 0 once no request came through the router for that
 * long; the router (fed by the API's event stream, `--wake` with the owner's token) holds the
 * next request, wakes the image (POST /api/images/{id}/wake) and forwards the request once the
 * new instance is ready. The wake route: owner-checked, idempotent, refused for an image that
 * does not scale to zero; the field's validation. On the real engine, both backends.
 */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Orchestrator } from "../../src/client/index.ts";
import { createLogger } from "../../src/logger.ts";
import { type Router, startRouter } from "../../src/router/router.ts";
import { startSseSource } from "../../src/router/sse-source.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/** One GET through the router with `Host: hostname`: status and body (status 0: no answer). */
function throughRouter(port: number, hostname: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: "127.0.0.1", port, path: "/index.html", headers: { host: hostname }, agent: false },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.once("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.setTimeout(120_000, () => request.destroy());
    request.once("error", () => resolve({ status: 0, body: "" }));
  });
}

describe.each(backends())("scale to zero through the router (%s)", (backend) => {
  const hostname = `sleepy-${backend}.example.test`;
  let router: Router;
  let server: TestServer;
  let source: ReturnType<typeof startSseSource> | undefined;
  let alice = "";
  let bob = "";
  let wakeClient: Orchestrator | undefined;

  beforeAll(async () => {
    const logger = createLogger(process.env.TEST_LOG_LEVEL ?? "silent");
    router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      logger,
      wake: {
        // The owner's token, as `orchestrator router --wake --token …` is given.
        call: async (imageId) => {
          await wakeClient?.images.wake(imageId);
        },
        timeoutMs: 120_000,
      },
    });
    server = await startTestServer({
      backend,
      env: {
        HEALTH_INTERVAL_SECONDS: "1",
        AUTOSCALE_INTERVAL_SECONDS: "1",
        ROUTER_METRICS_URL: `${router.metricsUrl}/metrics`,
      },
    });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
    wakeClient = new Orchestrator({ url: server.url, token: alice });
    source = startSseSource(
      new Orchestrator({ url: server.url, token: server.adminToken }),
      (event) => router.apply(event),
      logger,
    );
    source.done.catch(() => undefined);
  });

  afterAll(async () => {
    source?.stop();
    await server?.stop();
    await router?.close();
  });

  const imageOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}`, { token: alice })).body;
  const scaledEvents = async (imageId: number) =>
    (
      await server.request("GET", `/api/events?image_id=${imageId}&type=image.scaled&limit=100`)
    ).body.items.map((event: any) => event.data) as any[];

  it("goes to 0 when idle, and the router wakes it for the next request", async () => {
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "sleepy",
        image: testImages.httpd,
        app_hostname: hostname,
        min_instances: 0,
        max_instances: 2,
        desired_instances: 1,
        cpu_limit: "0.1",
        memory_limit: "16m",
        autoscale: {
          metric: "requests_per_second",
          target: 5,
          scale_down_stabilization: "5s",
          scale_to_zero_after: "5s",
        },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    expect(created.body.autoscale.scale_to_zero_after).toBe("5s");
    await waitFor(
      () => throughRouter(router.port, hostname),
      (answer) => answer.status === 200,
      { what: "the router serving the app", timeoutMs: 120_000 },
    );

    // Awake, a wake changes nothing (idempotent).
    const awake = await server.request("POST", `/api/images/${imageId}/wake`, { token: alice });
    expect(awake.status, JSON.stringify(awake.body)).toBe(200);
    expect(awake.body).toEqual({ image_id: imageId, desired_instances: 1, woken: false });

    // No more requests: after 5 s of a known rate of 0, the autoscaler takes it to 0.
    await waitFor(
      async () => ({
        image: await imageOf(imageId),
        containers: (
          await server.request("GET", `/api/images/${imageId}/containers`, { token: alice })
        ).body.items as any[],
      }),
      ({ image, containers }) => image.desired_instances === 0 && containers.length === 0,
      { what: "scaled to zero", timeoutMs: 180_000, intervalMs: 1_000 },
    );
    expect((await scaledEvents(imageId)).at(-1)).toMatchObject({
      metric: "requests_per_second",
      from: 1,
      to: 0,
      reason: "idle",
    });
    const asleep = (await server.request("GET", `/api/images/${imageId}/autoscale`)).body;
    expect(asleep.current.reason).toMatch(/^(idle|scaled_to_zero)$/);

    // Another tenant cannot wake it (404, nothing changes); the wake route's answers.
    const stranger = await server.request("POST", `/api/images/${imageId}/wake`, { token: bob });
    expect(stranger.status).toBe(404);
    expect((await imageOf(imageId)).desired_instances).toBe(0);

    // The first request is held while the router wakes the image, then answered.
    const answer = await throughRouter(router.port, hostname);
    expect(answer.status, answer.body).toBe(200);
    const wake = (await scaledEvents(imageId)).find((data) => data.reason === "wake");
    expect(wake).toMatchObject({ from: 0, to: 1 });
    const metrics = await (await fetch(`${router.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`orchestrator_router_wakes_total\\{host="${hostname}"\\} [1-9]`),
    );
  }, 600_000);

  it("refuses to wake an image that does not scale to zero, and validates the field", async () => {
    const plain = await server.request("POST", "/api/images", {
      token: alice,
      body: { name: "plain", image: testImages.httpd, desired_instances: 0 },
    });
    expect(plain.status, JSON.stringify(plain.body)).toBe(201);
    const refused = await server.request("POST", `/api/images/${plain.body.id}/wake`, {
      token: alice,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/does not scale to zero/);
    expect((await imageOf(plain.body.id)).desired_instances).toBe(0);

    const byCpu = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "cpu-zero",
        image: testImages.httpd,
        min_instances: 0,
        autoscale: { metric: "cpu", target: 50, scale_to_zero_after: "10m" },
      },
    });
    expect(byCpu.status).toBe(422);
    expect(JSON.stringify(byCpu.body)).toContain("autoscale.scale_to_zero_after");
    const withMin = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "min-one",
        image: testImages.httpd,
        min_instances: 1,
        autoscale: { metric: "requests_per_second", target: 5, scale_to_zero_after: "10m" },
      },
    });
    expect(withMin.status).toBe(422);
    expect(JSON.stringify(withMin.body)).toContain("min_instances");
  });
});
