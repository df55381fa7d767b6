import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runningContainers } from "../support/docker-helpers.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { services } from "../support/services.ts";
import { apiCaller, spawnServer } from "../support/spawn-server.ts";
import { testImages } from "../support/test-images.ts";
import {
  removeManagedContainers,
  startTestServer,
  type TestServer,
} from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const kafkaMock = services().kafkaMock;

describe.runIf(kafkaMock.ok)("the service on Kafka", () => {
  const broker = useKafkaBroker();

  describe("scale 0 → 3 → 1", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        env: { KAFKA_BROKERS: broker().bootstrap, KAFKA_TOPIC: "lifecycle-e2e" },
      });
    });
    afterAll(() => server?.stop());

    it("publishes exactly the expected events per container, in order, with the contract's fields", async () => {
      const consumption = await broker().consume("lifecycle-e2e", { fromBeginning: true });
      const created = await server.request("POST", "/api/images", {
        body: {
          name: "shop",
          image: testImages.httpd,
          desired_instances: 0,
          app_hostname: "shop.example.com",
          cpu_limit: "0.25",
          memory_limit: "32m",
        },
      });
      const imageId = created.body.id as number;
      await server.request("PATCH", `/api/images/${imageId}`, { body: { desired_instances: 3 } });
      await waitFor(
        () => runningContainers(server.orchestratorId, imageId),
        (list) => list.length === 3,
        { what: "3 running" },
      );
      await waitFor(
        async () =>
          (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[],
        (items) => items.length === 3 && items.every((item) => item.observed_state === "running"),
        { what: "3 recorded running" },
      );
      await server.request("PATCH", `/api/images/${imageId}`, { body: { desired_instances: 1 } });
      await waitFor(
        async () =>
          (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[],
        (items) => items.length === 1,
        { what: "scaled to 1" },
      );
      await server.service.relay?.flush();

      // 3 × (created, started) + 2 × (draining, stopped, removed) + 2 × image.scaled = 14.
      const messages = await consumption.waitFor(14);
      expect(consumption.messages).toHaveLength(14);
      await consumption.stop();

      for (const message of messages) {
        expect(message.key).toBe(String(imageId));
        expect(message.headers["content-type"]).toBe("application/cloudevents+json");
        expect(message.headers.ce_type).toBe(message.event.type);
        expect(message.headers.ce_id).toBe(message.event.id);
        expect(message.event).toMatchObject({
          specversion: "1.0",
          source: `orchestrator/${server.orchestratorId}`,
          datacontenttype: "application/json",
        });
        expect(Date.parse(message.event.time)).not.toBeNaN();
      }
      // One partition per key: the image's events arrive in the order they happened.
      expect(new Set(messages.map((message) => message.partition)).size).toBe(1);
      const local = (
        (await server.request("GET", `/api/events?image_id=${imageId}&limit=100`)).body
          .items as any[]
      ).map((event) => event.id);
      expect(messages.map((message) => message.event.id)).toEqual(local);

      const survivor = (
        (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[]
      )[0];
      const byInstance = new Map<string, string[]>();
      for (const message of messages.filter((m) => m.event.type.startsWith("container."))) {
        const instanceId = message.event.data.instance_id as string;
        byInstance.set(instanceId, [...(byInstance.get(instanceId) ?? []), message.event.type]);
        expect(message.event.subject).toBe(`containers/${instanceId}`);
      }
      expect(byInstance.size).toBe(3);
      for (const [instanceId, types] of byInstance) {
        expect(types).toEqual(
          instanceId === survivor.id
            ? ["container.created", "container.started"]
            : [
                "container.created",
                "container.started",
                "container.draining",
                "container.stopped",
                "container.removed",
              ],
        );
      }
      const started = messages.find((m) => m.event.type === "container.started")?.event.data;
      expect(started).toMatchObject({
        image_id: imageId,
        user_id: "1",
        app_hostname: "shop.example.com",
        host: "127.0.0.1",
        container_port: 8080,
        cpu_limit: "0.25",
        memory_limit: "32m",
        stopped_at: null,
      });
      expect(started.host_port).toBeGreaterThan(0);
      expect(started.container_id).toMatch(/^[0-9a-f]{64}$/);
      expect(started.name).toMatch(new RegExp(`-shop-${started.instance_id}$`));
      // Billing computes run time from one message: a stop carries both ends.
      const stopped = messages.find((m) => m.event.type === "container.stopped")?.event.data;
      expect(Date.parse(stopped.stopped_at)).toBeGreaterThanOrEqual(Date.parse(stopped.started_at));
      expect(stopped.reason).toBe("scale_down");
      const scaled = messages
        .filter((m) => m.event.type === "image.scaled")
        .map((m) => m.event.data.desired_instances);
      expect(scaled).toEqual([3, 1]);
    });
  });

  it("delivers every event after a kill -9 while they were unpublished (broker down)", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "orch-kafka-crash-"));
    const orchestratorId = testOrchestratorId("kcrash");
    const env = {
      DATA_DIR: dataDir,
      ORCHESTRATOR_ID: orchestratorId,
      KAFKA_BROKERS: broker().bootstrap,
      KAFKA_TOPIC: "lifecycle-crash",
      LOG_LEVEL: "warn",
      STOP_TIMEOUT_SECONDS: "1",
    };
    let server = await spawnServer(env);
    try {
      const consumption = await broker().consume("lifecycle-crash", { fromBeginning: true });
      const token = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
      const call = apiCaller(() => server.url, token);
      await broker().down();
      const image = (
        await call("POST", "/api/images", {
          name: "crashy",
          image: testImages.httpd,
          desired_instances: 2,
          memory_limit: "16m",
        })
      ).body;
      await waitFor(
        async () => (await call("GET", `/api/events?image_id=${image.id}`)).body.items as any[],
        (items) => items.filter((item: any) => item.type === "container.started").length === 2,
        { what: "events written while the broker is down" },
      );
      const written = (await call("GET", `/api/events?image_id=${image.id}`)).body.items as any[];
      expect(written.every((item) => item.published_at === null)).toBe(true);
      server.kill("SIGKILL");
      await server.exited;

      await broker().up();
      server = await spawnServer(env);
      // Generous: a fresh process opens its database and reconnects to the broker first.
      const messages = await consumption.waitFor(written.length, 180_000);
      expect(messages.map((message) => message.event.id).slice(0, written.length)).toEqual(
        written.map((item) => item.id),
      );
      await consumption.stop();
    } finally {
      server.kill("SIGKILL");
      await server.exited;
      await removeManagedContainers(orchestratorId);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
