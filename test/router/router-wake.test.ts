/**
 * `orchestrator router --source kafka --wake` against the real service, engine and Kafka
 * protocol: a request for an image at zero instances (`autoscale.scale_to_zero_after`) is held,
 * the router wakes the image with the owner's token and answers it once the instance is ready.
 * The API sits behind a recording proxy: the wake is the only call the router makes to it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { hasDocker, services } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { runRouter, scrape, through } from "./router-harness.ts";

/** Forwards every request to `target` and records `METHOD path` of each. */
async function startRecordingProxy(target: string) {
  const seen: string[] = [];
  const server = http.createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    const upstream = http.request(
      new URL(request.url ?? "/", target),
      { method: request.method, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const kafkaMock = services().kafkaMock;

describe.runIf(kafkaMock.ok && hasDocker())("the router on Kafka with --wake", () => {
  const broker = useKafkaBroker();
  const topic = "router-wake";
  const hostname = "asleep.router.test";
  let server: TestServer;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  const stopRouter = new AbortController();
  let routerExit: Promise<number> | undefined;
  let routerPort = 0;
  let metricsPort = 0;
  let alice = "";

  beforeAll(async () => {
    server = await startTestServer({
      env: { KAFKA_BROKERS: broker().bootstrap, KAFKA_TOPIC: topic },
    });
    alice = await server.createUser("alice");
    proxy = await startRecordingProxy(server.url);
    const router = await runRouter(
      ["--source", "kafka", "--wake", "--wake-timeout", "120", "--server", proxy.url],
      {
        KAFKA_BROKERS: broker().bootstrap,
        KAFKA_TOPIC: topic,
        ORCHESTRATOR_TOKEN: alice,
      },
      stopRouter.signal,
    );
    routerPort = router.port;
    metricsPort = router.metricsPort;
    routerExit = router.exit;
  });
  afterAll(async () => {
    stopRouter.abort();
    await routerExit;
    await proxy?.close();
    await server?.stop();
  });

  it("holds the first request for an image at zero, wakes it with the owner's token, answers it", async () => {
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: {
        name: "asleep",
        image: testImages.httpd,
        app_hostname: hostname,
        min_instances: 0,
        max_instances: 2,
        desired_instances: 1,
        cpu_limit: "0.1",
        memory_limit: "16m",
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    const metrics = async () => scrape(metricsPort);
    await waitFor(
      metrics,
      (text) => text.includes(`orchestrator_router_upstreams{host="${hostname}"} 1`),
      { timeoutMs: 120_000, what: "the router to route the image's instance" },
    );
    // Autoscaled to zero from now on (turning autoscale on sets the starting count): the
    // instance goes, the router keeps the hostname with nothing ready.
    const slept = await server.request("PATCH", `/api/images/${imageId}`, {
      token: alice,
      body: {
        desired_instances: 0,
        autoscale: { metric: "requests_per_second", target: 5, scale_to_zero_after: "10m" },
      },
    });
    expect(slept.status, JSON.stringify(slept.body)).toBe(200);
    await waitFor(
      metrics,
      (text) => text.includes(`orchestrator_router_upstreams{host="${hostname}"} 0`),
      { timeoutMs: 120_000, what: "the router to see the image at zero" },
    );
    expect(proxy.seen).toEqual([]);

    const answer = await through(routerPort, hostname);
    expect(answer.status, answer.body).toBe(200);
    expect(answer.body).toContain("ok");
    const image = (await server.request("GET", `/api/images/${imageId}`, { token: alice })).body;
    expect(image.desired_instances).toBe(1);
    // The router called the API for the wake only (once per 3 s while the request waited).
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(new Set(proxy.seen)).toEqual(new Set([`POST /api/images/${imageId}/wake`]));
  }, 300_000);
});
