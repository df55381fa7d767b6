/**
 * `orchestrator router --source kafka` against the real service, engine and Kafka protocol: its
 * table comes from the topic alone (the API it could reach is a tripwire that must stay
 * untouched), and a container killed behind the controller's back costs no request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, runningContainers } from "../support/docker-helpers.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { backends, hasDocker, services } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { runRouter, scrape, startTripwire, through } from "./router-harness.ts";

const kafkaMock = services().kafkaMock;

describe.runIf(kafkaMock.ok && hasDocker()).each(backends())(
  "the router on Kafka alone (%s)",
  (backend) => {
    const broker = useKafkaBroker();
    const topic = `router-${backend}`;
    let server: TestServer;
    let tripwire: Awaited<ReturnType<typeof startTripwire>>;
    const stopRouter = new AbortController();
    let routerExit: Promise<number> | undefined;
    let routerPort = 0;
    let metricsPort = 0;
    const hostname = `shop-${backend}.router.test`;

    beforeAll(async () => {
      server = await startTestServer({
        backend,
        env: { KAFKA_BROKERS: broker().bootstrap, KAFKA_TOPIC: topic },
      });
      tripwire = await startTripwire();
      const router = await runRouter(
        ["--source", "kafka"],
        {
          KAFKA_BROKERS: broker().bootstrap,
          KAFKA_TOPIC: topic,
          ORCHESTRATOR_URL: tripwire.url,
          ORCHESTRATOR_TOKEN: "not-to-be-used",
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
      await tripwire?.close();
      await server?.stop();
    });

    it("routes by app_hostname from the topic, serves through a killed instance with no failed request, never calls the API", async () => {
      const created = await server.request("POST", "/api/images", {
        body: {
          name: "routed",
          image: testImages.httpd,
          desired_instances: 2,
          max_instances: 3,
          app_hostname: hostname,
          cpu_limit: "0.25",
          memory_limit: "32m",
        },
      });
      expect([201, 202]).toContain(created.status);
      const imageId = created.body.id as number;
      const metrics = async () => scrape(metricsPort);
      await waitFor(
        metrics,
        (text) => text.includes(`orchestrator_router_upstreams{host="${hostname}"} 2`),
        {
          timeoutMs: 90_000,
          what: "the router to learn two ready instances from Kafka",
          describe: (text) =>
            text.split("\n").filter((line) => line.startsWith("orchestrator_router")),
        },
      );
      // An instance the engine runs may not listen for a moment: the first answers are awaited.
      await waitFor(
        () => through(routerPort, hostname),
        (answer) => answer.status === 200,
        { what: "a first answer through the router" },
      );
      const unknown = await through(routerPort, "nobody.router.test");
      expect(unknown.status).toBe(404);
      // Anyone can reach the proxy: under no Host does it show the scrape (every tenant's
      // hostnames and traffic), which answers on the metrics listener only.
      for (const host of ["router.internal", "127.0.0.1", "localhost"]) {
        const scraped = await through(routerPort, host, "/metrics");
        expect(scraped.status, host).toBe(404);
        expect(scraped.body).not.toContain(hostname);
      }

      // Load on 127.0.0.1, bounded in count and time, while one container is killed.
      const statuses = new Map<number, number>();
      let loading = true;
      let sent = 0;
      const load = (async () => {
        const deadline = Date.now() + 180_000;
        while (loading && sent < 20_000 && Date.now() < deadline) {
          sent += 1;
          const answer = await through(routerPort, hostname).catch(() => ({ status: 0, body: "" }));
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      await waitFor(
        async () => sent,
        (count) => count >= 20,
        { what: "load running" },
      );
      const [victim] = await runningContainers(server.orchestratorId, imageId);
      expect(victim).toBeDefined();
      await docker.getContainer(victim?.Id ?? "").kill();
      // The controller notices, replaces or restarts it; the router hears all of it from Kafka.
      await waitFor(
        async () =>
          (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[],
        (items) =>
          items.length === 2 &&
          items.every((item) => item.observed_state === "running") &&
          // Restarted in place (same container, counted) or replaced by another one.
          items.every((item) => item.container_id !== victim?.Id || item.restart_count > 0),
        { timeoutMs: 120_000, what: "the killed container running again" },
      );
      await server.service.relay?.flush();
      const written = (
        (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`)).body
          .items as any[]
      ).length;
      await waitFor(
        metrics,
        (text) =>
          Number(/^orchestrator_router_events_total (\d+)/m.exec(text)?.[1] ?? 0) >= written &&
          text.includes(`orchestrator_router_upstreams{host="${hostname}"} 2`),
        { timeoutMs: 60_000, what: "the router to read every event of the image" },
      );
      const sentAtRecovery = sent;
      await waitFor(
        async () => sent,
        (count) => count >= sentAtRecovery + 20,
        { what: "load after recovery" },
      );
      loading = false;
      await load;

      expect(Object.fromEntries(statuses)).toEqual({ 200: sent });
      expect(tripwire.seen).toEqual([]);
    }, 400_000);

    it("builds the same table from the API's event stream (--source sse)", async () => {
      // The image of the test above, still running two instances.
      const stopSse = new AbortController();
      const router = await runRouter(
        ["--source", "sse", "--server", server.url, "--token", server.adminToken],
        {},
        stopSse.signal,
      );
      const ssePort = router.port;
      try {
        await waitFor(
          () => scrape(router.metricsPort),
          (text) => text.includes(`orchestrator_router_upstreams{host="${hostname}"} 2`),
          { timeoutMs: 60_000, what: "the SSE router to learn two ready instances" },
        );
        const answer = await through(ssePort, hostname);
        expect(answer.status).toBe(200);
      } finally {
        stopSse.abort();
        await router.exit;
      }
    });
  },
);
