/**
 * The original service's image routes, as its documentation describes them: an upload answers
 * 202 with status `building`, the detail carries `status`, `build_logs`, `source_path`,
 * `desired_instances`, `generation`, `observed_generation` and `conditions`, the build log
 * streams until the build ends, PATCH bumps `generation`, DELETE marks for deletion. On the
 * real engine, both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveOf, startBuildServer, webApp } from "../builds/build-support.ts";
import { httpGet } from "../support/docker-helpers.ts";
import { backends, hasDocker } from "../support/services.ts";
import type { TestServer } from "../support/test-server.ts";
import {
  type DocumentedClient,
  documentedClient,
  eventually,
  imageStatuses,
} from "./documented-client.ts";

describe.runIf(hasDocker()).each(backends())("the original image routes on %s", (backend) => {
  let server: TestServer;
  let api: DocumentedClient;
  beforeAll(async () => {
    server = await startBuildServer({ backend });
    api = documentedClient(server.url, server.adminToken);
  });
  afterAll(() => server?.stop());

  let imageId: number;

  it("POST /api/images (multipart, every documented field) answers 202 with status building", async () => {
    const form = new FormData();
    for (const [name, value] of Object.entries({
      name: "shop",
      tag: "v1",
      app_hostname: "shop.example.com",
      container_port: "8080",
      min_instances: "1",
      max_instances: "3",
      desired_instances: "1",
      cpu_limit: "0.5",
      memory_limit: "64m",
      env: JSON.stringify({ GREETING: "hello" }),
    })) {
      form.append(name, value);
    }
    const archive = await archiveOf("tar.gz", webApp("shop v1"));
    form.append("file", new Blob([new Uint8Array(archive)]), "shop.tar.gz");
    const answer = await api.post("/api/images", form);
    expect(answer.status, answer.text).toBe(202);
    expect(answer.body.status).toBe("building");
    expect(answer.body).toMatchObject({
      name: "shop",
      tag: "v1",
      app_hostname: "shop.example.com",
      container_port: 8080,
      min_instances: 1,
      max_instances: 3,
      desired_instances: 1,
      cpu_limit: "0.5",
      memory_limit: "64m",
      env: { GREETING: "hello" },
    });
    expect(typeof answer.body.id).toBe("number");
    imageId = answer.body.id;
  });

  it("GET /api/images/{id} carries the documented fields and becomes ready", async () => {
    const ready = await eventually(
      async () => (await api.get(`/api/images/${imageId}`)).body,
      (image) => image.status === "ready" || image.status === "build_failed",
      "the build",
    );
    expect(ready.status).toBe("ready");
    for (const field of [
      "status",
      "build_logs",
      "source_path",
      "desired_instances",
      "generation",
      "observed_generation",
      "conditions",
    ]) {
      expect(ready, field).toHaveProperty(field);
    }
    expect(imageStatuses).toContain(ready.status);
    expect(typeof ready.build_logs).toBe("string");
    expect(ready.build_logs.length).toBeGreaterThan(0);
    expect(typeof ready.source_path).toBe("string");
    expect(Array.isArray(ready.conditions)).toBe(true);
  });

  it("GET /api/images/{id}/build-logs has the log; ?follow=1 streams it until the build ends", async () => {
    const logs = await api.get(`/api/images/${imageId}/build-logs`);
    expect(logs.status).toBe(200);
    expect(logs.body.build_logs).toMatch(/COPY index.html/);
    const followed = await api.stream(`/api/images/${imageId}/build-logs?follow=1`, () => false);
    expect(followed.status).toBe(200);
    expect(followed.contentType).toMatch(/^text\/event-stream/);
    expect(followed.events.map((event) => event.data).join("\n")).toMatch(/COPY index.html/);
  });

  it("runs its instances: GET /api/images/{id}/containers, and the app answers on the host port", async () => {
    const running = await eventually(
      async () => (await api.get(`/api/images/${imageId}/containers`)).body.items as any[],
      (items) => items.length === 1 && items[0].observed_state === "running" && items[0].host_port,
      "one running instance",
    );
    const answer = await httpGet(running[0].host_port);
    expect(answer.body).toContain("shop v1");
  });

  it("GET /api/images and /api/images/with-containers list it", async () => {
    const listed = await api.get("/api/images");
    expect(listed.body.items.map((image: any) => image.id)).toContain(imageId);
    const withContainers = await api.get("/api/images/with-containers");
    const shop = withContainers.body.items.find((image: any) => image.id === imageId);
    expect(shop.containers.total).toBe(1);
  });

  it("PATCH /api/images/{id} changes desired state and bumps generation", async () => {
    const before = (await api.get(`/api/images/${imageId}`)).body;
    const changed = await api.patch(`/api/images/${imageId}`, { desired_instances: 2 });
    expect(changed.status).toBe(200);
    expect(changed.body.desired_instances).toBe(2);
    expect(changed.body.generation).toBe(before.generation + 1);
  });

  it("POST /api/images/{id}/rebuild builds again from the kept source", async () => {
    const rebuilt = await api.post(`/api/images/${imageId}/rebuild`);
    expect(rebuilt.status).toBe(202);
    expect(["pending", "building"]).toContain(rebuilt.body.status);
    await eventually(
      async () => (await api.get(`/api/images/${imageId}`)).body,
      (image) => image.status === "ready",
      "the rebuild",
    );
  });

  it("answers errors as application/problem+json", async () => {
    const missing = await api.get("/api/images/999999");
    expect(missing.status).toBe(404);
    expect(missing.contentType).toBe("application/problem+json");
    expect(missing.body).toMatchObject({ status: 404, code: expect.stringMatching(/not_found$/) });
    const noToken = await fetch(`${server.url}/api/images`);
    expect(noToken.status).toBe(401);
  });

  it("DELETE /api/images/{id} marks it for deletion; the containers go, then the image", async () => {
    const deleted = await api.delete(`/api/images/${imageId}`);
    expect(deleted.status).toBe(202);
    expect(deleted.body.status).toBe("deleting");
    await eventually(
      async () => (await api.get(`/api/images/${imageId}`)).status,
      (status) => status === 404,
      "the image gone",
    );
  });
});
