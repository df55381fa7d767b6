/**
 * `orchestrator router --source kafka` through a start-first rollout (max_unavailable 0): the
 * controller writes `container.draining` when it marks a retired instance for deletion, the
 * router stops sending it new requests while those in flight finish, and not one request fails.
 * Each request is slow (0.3 s between its first line and its last), so a retired instance still
 * sent requests when it is killed cuts them short: a short body counts as a failure. The
 * router's table comes from the topic alone (the API it could reach is a tripwire).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { managedContainers } from "../support/docker-helpers.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { backends, hasDocker, services } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { runRouter, scrape, startTripwire, through } from "./router-harness.ts";

const kafkaMock = services().kafkaMock;
/**
 * A whole answer of /cgi-bin/slow: its first line, then the version and the hostname (the
 * container's name) of the container that served it.
 */
const wholeAnswer = /^start\nversion=(\d+) host=(\S+)\n$/;
const containerName = (container: { Names: string[] }) => (container.Names[0] ?? "").slice(1);

describe.runIf(kafkaMock.ok && hasDocker()).each(backends())(
  "the router on Kafka through a rollout (%s)",
  (backend) => {
    const broker = useKafkaBroker();
    const topic = `router-rollout-${backend}`;
    let server: TestServer;
    let tripwire: Awaited<ReturnType<typeof startTripwire>>;
    const stopRouter = new AbortController();
    let routerExit: Promise<number> | undefined;
    let routerPort = 0;
    let metricsPort = 0;
    const hostname = `rolled-${backend}.router.test`;

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

    const imageOf = async (imageId: number) =>
      (await server.request("GET", `/api/images/${imageId}`)).body;
    const eventsOf = async (imageId: number) =>
      (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`)).body
        .items as any[];
    const ready = (image: any) =>
      image.conditions.some((c: any) => c.type === "Ready" && c.status === "True") &&
      image.observed_generation === image.generation;
    const metrics = async () => scrape(metricsPort);

    it("serves every request through a start-first rollout of 5 instances, old and new alike", async () => {
      const desired = 5;
      const created = await server.request("POST", "/api/images", {
        body: {
          name: "rolled",
          image: testImages.slow,
          desired_instances: desired,
          max_instances: 7,
          app_hostname: hostname,
          env: { VERSION: "1" },
          cpu_limit: "0.1",
          memory_limit: "16m",
          // httpd ignores SIGTERM: it serves through the grace period, then is killed.
          stop_grace_period: "5s",
          // Tolerant probes: a loaded machine must not make a serving instance look unhealthy.
          health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", retries: 3 },
          rollout: { max_surge: 2, max_unavailable: 0, min_ready: "1s", progress_deadline: "5m" },
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const imageId = created.body.id as number;
      await waitFor(
        async () => ({
          image: await imageOf(imageId),
          instances: (await server.request("GET", `/api/images/${imageId}/containers`)).body
            .items as any[],
        }),
        ({ image }) => ready(image),
        {
          what: "Ready",
          timeoutMs: 180_000,
          describe: ({ image, instances }) => ({
            conditions: image.conditions,
            instances: instances.map((item) =>
              [item.id, item.observed_state, item.health, item.host_port, item.last_error].join(
                " ",
              ),
            ),
          }),
        },
      );
      await waitFor(
        metrics,
        (text) => text.includes(`orchestrator_router_upstreams{host="${hostname}"} ${desired}`),
        {
          timeoutMs: 90_000,
          what: `the router to learn ${desired} ready instances from Kafka`,
          describe: (text) =>
            text.split("\n").filter((line) => line.startsWith("orchestrator_router")),
        },
      );
      await waitFor(
        () => through(routerPort, hostname, "/cgi-bin/slow"),
        (answer) => answer.status === 200 && wholeAnswer.test(answer.body),
        { what: "a first whole answer through the router" },
      );
      const oldContainers = await managedContainers(server.orchestratorId, imageId);
      const oldHash = oldContainers[0]?.Labels[labelKeys.specHash];
      const oldIds = new Set(oldContainers.map(containerName));
      expect(oldIds.size).toBe(desired);

      // Four clients in a loop on 127.0.0.1, bounded in count and time, through the rollout.
      const failures: string[] = [];
      const servedBy = new Map<string, number>();
      const versions = new Set<string>();
      let loading = true;
      let sent = 0;
      const client = async () => {
        const deadline = Date.now() + 360_000;
        while (loading && sent < 20_000 && Date.now() < deadline) {
          sent += 1;
          const at = new Date().toISOString();
          try {
            const answer = await through(routerPort, hostname, "/cgi-bin/slow");
            const whole = wholeAnswer.exec(answer.body);
            if (answer.status !== 200 || whole === null) {
              failures.push(`${at}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
            } else {
              versions.add(whole[1] ?? "");
              servedBy.set(whole[2] ?? "", (servedBy.get(whole[2] ?? "") ?? 0) + 1);
            }
          } catch (error) {
            failures.push(`${at}: ${(error as Error).message}`);
          }
        }
      };
      const clients = Promise.all([client(), client(), client(), client()]);
      await waitFor(
        async () => sent,
        (count) => count >= 20,
        { what: "load running" },
      );

      const patched = await server.request("PATCH", `/api/images/${imageId}`, {
        body: { env: { VERSION: "2" } },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      await waitFor(
        async () => ({
          image: await imageOf(imageId),
          containers: await managedContainers(server.orchestratorId, imageId),
          events: await eventsOf(imageId),
        }),
        ({ image, containers, events }) =>
          ready(image) &&
          containers.length === desired &&
          containers.every((container) => container.Labels[labelKeys.specHash] !== oldHash) &&
          events.some(
            (event) => event.type === "image.rollout_completed" && event.data.to_revision === 2,
          ),
        { what: "the rollout completed", timeoutMs: 300_000, intervalMs: 500 },
      );
      // The router has read every event of the image (the last stops and removals too).
      await server.service.relay?.flush();
      const written = (await eventsOf(imageId)).length;
      await waitFor(
        metrics,
        (text) =>
          Number(/^orchestrator_router_events_total (\d+)/m.exec(text)?.[1] ?? 0) >= written &&
          text.includes(`orchestrator_router_upstreams{host="${hostname}"} ${desired}`),
        { timeoutMs: 60_000, what: "the router to read every event of the image" },
      );
      const sentAtEnd = sent;
      await waitFor(
        async () => sent,
        (count) => count >= sentAtEnd + 20,
        { what: "load after the rollout" },
      );
      loading = false;
      await clients;

      expect(failures).toEqual([]);
      expect(sent).toBeGreaterThan(100);
      // Old and new instances both served: every old container before it went, new ones after.
      const newIds = new Set(
        (await managedContainers(server.orchestratorId, imageId)).map(containerName),
      );
      expect([...newIds].filter((id) => oldIds.has(id))).toEqual([]);
      expect([...servedBy.keys()].filter((id) => oldIds.has(id)).length).toBe(desired);
      expect([...servedBy.keys()].filter((id) => newIds.has(id)).length).toBeGreaterThan(0);
      expect([...versions].sort()).toEqual(["1", "2"]);

      // Each retired instance was marked draining before it stopped, and then removed.
      const events = await eventsOf(imageId);
      const retired = new Set(
        events
          .filter((event) => event.type === "container.draining")
          .map((event) => event.data.instance_id as string),
      );
      expect(retired.size).toBe(desired);
      // Once each: no instance was announced twice.
      expect(events.filter((event) => event.type === "container.draining")).toHaveLength(desired);
      for (const instanceId of retired) {
        const lifecycle = events
          .filter((event) => event.data.instance_id === instanceId)
          .sort((left, right) => left.seq - right.seq)
          .map((event) => `${event.type}:${event.data.reason}`);
        expect(lifecycle.slice(-3), instanceId).toEqual([
          "container.draining:spec_changed",
          "container.stopped:spec_changed",
          "container.removed:spec_changed",
        ]);
      }
      expect(tripwire.seen).toEqual([]);
    }, 600_000);
  },
);
