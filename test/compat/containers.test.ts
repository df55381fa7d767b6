/**
 * The original service's container, apply, event, token and probe routes, as its documentation
 * describes them: `GET /api/containers/` (with the slash), `POST /api/containers/{image_id}`
 * answering the instances it adds (default one; 409 past max_instances), start, stop, delete,
 * health, `POST /api/apply` with `dry_run` and `prune`, `GET /api/events` and its stream,
 * `POST /api/tokens`, and the probes. On the real engine, both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends, hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import {
  type DocumentedClient,
  documentedClient,
  eventTypes,
  eventually,
  observedStates,
} from "./documented-client.ts";

describe.runIf(hasDocker()).each(backends())("the original container routes on %s", (backend) => {
  let server: TestServer;
  let api: DocumentedClient;
  let imageId: number;
  beforeAll(async () => {
    server = await startTestServer({ backend });
    api = documentedClient(server.url, server.adminToken);
    const created = await api.post("/api/images", {
      name: "web",
      image: testImages.httpd,
      desired_instances: 0,
      max_instances: 3,
      memory_limit: "32m",
    });
    expect(created.status, created.text).toBeLessThan(300);
    imageId = created.body.id;
  });
  afterAll(() => server?.stop());

  let added: any[];

  it("POST /api/containers/{image_id} answers the new instances (one by default)", async () => {
    const one = await api.post(`/api/containers/${imageId}`);
    expect(one.status, one.text).toBe(202);
    expect(one.body.items).toHaveLength(1);
    const two = await api.post(`/api/containers/${imageId}`, { count: 2 });
    expect(two.status).toBe(202);
    expect(two.body.items).toHaveLength(2);
    added = [...one.body.items, ...two.body.items];
    for (const instance of added) {
      expect(instance.image_id).toBe(imageId);
      expect(typeof instance.id).toBe("string");
      expect(instance.desired_state).toBe("running");
      expect(instance).toHaveProperty("host_port");
      expect(instance).toHaveProperty("container_id");
    }
    expect(new Set(added.map((instance) => instance.id)).size).toBe(3);
  });

  it("refuses past max_instances with 409, adding nothing", async () => {
    const refused = await api.post(`/api/containers/${imageId}`, { count: 1 });
    expect(refused.status).toBe(409);
    expect(refused.contentType).toBe("application/problem+json");
    expect((await api.get(`/api/images/${imageId}`)).body.desired_instances).toBe(3);
  });

  it("runs exactly the instances it answered (none scaled away, none added)", async () => {
    const running = await eventually(
      async () => (await api.get(`/api/images/${imageId}/containers`)).body.items as any[],
      (items) => items.length === 3 && items.every((item) => item.observed_state === "running"),
      "three running instances",
    );
    expect(running.map((instance) => instance.id).sort()).toEqual(
      added.map((instance) => instance.id).sort(),
    );
  });

  it("GET /api/containers/ (as documented, with the slash) and /api/containers list them", async () => {
    const slash = await api.get("/api/containers/");
    expect(slash.status).toBe(200);
    const plain = await api.get("/api/containers");
    expect(slash.body.items.map((item: any) => item.id).sort()).toEqual(
      plain.body.items.map((item: any) => item.id).sort(),
    );
    expect(slash.body.items).toHaveLength(3);
  });

  it("GET /api/containers/{id}: desired and observed state, host port, container id, health", async () => {
    const one = (await api.get(`/api/containers/${added[0].id}`)).body;
    expect(one.desired_state).toBe("running");
    expect(observedStates).toContain(one.observed_state);
    expect(one.host_port).toBeGreaterThan(0);
    expect(one.container_id).toMatch(/^[0-9a-f]{64}$/);
    expect(one).toHaveProperty("health");
  });

  it("GET /api/containers/{id}/health: cpu, memory and disk, and a documented status", async () => {
    const health = (await api.get(`/api/containers/${added[0].id}/health`)).body;
    expect(["healthy", "warning", "critical", "stopped"]).toContain(health.status);
    for (const field of ["cpu_usage", "memory_usage", "disk_usage"]) {
      expect(health, field).toHaveProperty(field);
    }
  });

  it("POST /api/containers/{id}/stop and /start set the desired state", async () => {
    const id = added[0].id;
    const stopped = await api.post(`/api/containers/${id}/stop`);
    expect(stopped.status).toBe(202);
    expect(stopped.body.desired_state).toBe("stopped");
    await eventually(
      async () => (await api.get(`/api/containers/${id}`)).body.observed_state,
      (state) => state === "stopped",
      "the instance stopped",
    );
    const started = await api.post(`/api/containers/${id}/start`);
    expect(started.status).toBe(202);
    expect(started.body.desired_state).toBe("running");
    await eventually(
      async () => (await api.get(`/api/containers/${id}`)).body.observed_state,
      (state) => state === "running",
      "the instance running again",
    );
  });

  it("DELETE /api/containers/{id} removes one instance", async () => {
    const removed = await api.delete(`/api/containers/${added[2].id}`);
    expect(removed.status).toBe(202);
    await eventually(
      async () => (await api.get(`/api/containers/${added[2].id}`)).status,
      (status) => status === 404,
      "the instance gone",
    );
  });

  it("GET /api/events lists the documented event types; ?follow=1 streams them", async () => {
    const listed = await api.get(`/api/events?image_id=${imageId}`);
    expect(listed.status).toBe(200);
    const types = new Set(listed.body.items.map((event: any) => event.type));
    for (const type of ["image.scaled", "container.created", "container.started"]) {
      expect(types.has(type), type).toBe(true);
    }
    for (const type of types) expect(eventTypes).toContain(type);
    const streamed = await api.stream(
      `/api/events?follow=1&image_id=${imageId}`,
      (events) => events.length >= 3,
    );
    expect(streamed.contentType).toMatch(/^text\/event-stream/);
    const first = JSON.parse(streamed.events[0]?.data ?? "{}");
    expect(first.image_id).toBe(imageId);
    expect(eventTypes).toContain(first.type);
  });

  it("POST /api/apply: dry_run returns the plan, prune deletes what the set no longer names", async () => {
    const documents = [{ name: "api", image: testImages.httpd, desired_instances: 0 }];
    const plan = await api.post("/api/apply?dry_run=1", { set: "compat", documents });
    expect(plan.status, plan.text).toBe(200);
    expect(plan.body.items[0]).toMatchObject({ name: "api", action: "create" });
    expect((await api.get("/api/images")).body.items.some((i: any) => i.name === "api")).toBe(
      false,
    );
    expect((await api.post("/api/apply", { set: "compat", documents })).status).toBe(200);
    const pruned = await api.post("/api/apply?prune=1", {
      set: "compat",
      documents: [],
      allow_empty: true,
    });
    expect(pruned.status, pruned.text).toBe(200);
    expect(pruned.body.items[0]).toMatchObject({ name: "api", action: "delete" });
  });

  it("POST /api/tokens (admin) creates a user's token, shown once", async () => {
    expect((await api.post("/api/users", { name: "carol" })).status).toBe(201);
    const token = await api.post("/api/tokens", { user: "carol" });
    expect(token.status).toBe(201);
    expect(typeof token.body.token).toBe("string");
    const carol = documentedClient(server.url, token.body.token);
    expect((await carol.get("/api/images")).body.items).toEqual([]);
  });

  it("GET /healthz, /readyz and /metrics", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const metrics = await api.get("/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^# HELP /m);
  });
});
