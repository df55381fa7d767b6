import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe("health monitor", () => {
  let dataDir: string;
  let server: TestServer;
  let instance: any;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "orch-monitor-"));
    server = await startTestServer({ dataDir, env: { HEALTH_INTERVAL_SECONDS: "1" } });
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "sampled",
        image: testImages.httpd,
        desired_instances: 1,
        cpu_limit: "0.5",
        memory_limit: "32m",
      },
    });
    [instance] = await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${created.body.id}/containers`)).body
          .items as any[],
      (items) => items[0]?.observed_state === "running",
      { what: "running" },
    );
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("samples CPU and memory of its limits, disk and I/O, with a status", async () => {
    const health = await waitFor(
      async () => (await server.request("GET", `/api/containers/${instance.id}/health`)).body,
      (body) => typeof body.cpu_usage === "number",
      { what: "a sample with CPU (needs two)" },
    );
    expect(health).toMatchObject({
      instance_id: instance.id,
      status: "healthy",
      observed_state: "running",
    });
    expect(health.memory_usage).toBeGreaterThan(0);
    expect(health.memory_usage).toBeLessThan(100);
    expect(health.memory_bytes).toBeGreaterThan(0);
    expect(health.disk_usage).toBeGreaterThan(0);
    expect(health.network_rx_bytes).toBeGreaterThanOrEqual(0);
    expect(Date.parse(health.sampled_at)).not.toBeNaN();

    const history = (await server.request("GET", `/api/containers/${instance.id}/health/history`))
      .body.items;
    expect(history.length).toBeGreaterThanOrEqual(2);
    const since = history.at(-1).sampled_at;
    const recent = (
      await server.request(
        "GET",
        `/api/containers/${instance.id}/health/history?since=${encodeURIComponent(since)}`,
      )
    ).body.items;
    expect(recent.length).toBeLessThan(history.length + 2);
    expect(recent.every((item: any) => item.sampled_at >= since)).toBe(true);
  });

  it("reports a stopped container as stopped", async () => {
    await server.request("POST", `/api/containers/${instance.id}/stop`);
    await waitFor(
      async () => (await server.request("GET", `/api/containers/${instance.id}/health`)).body,
      (body) => body.status === "stopped",
      { what: "stopped" },
    );
    await server.request("POST", `/api/containers/${instance.id}/start`);
    instance = await waitFor(
      async () => (await server.request("GET", `/api/containers/${instance.id}`)).body,
      (body) => body.observed_state === "running",
      { what: "running again" },
    );
  });

  it("exposes fleet and controller metrics with Prometheus names", async () => {
    await waitFor(
      async () =>
        fetch(`${server.url}/metrics`, {
          headers: { authorization: `Bearer ${server.adminToken}` },
        }).then((response) => response.text()),
      (text) =>
        text.includes("orchestrator_container_cpu_usage_ratio{") &&
        text.includes(
          'orchestrator_instances{image_id="1",desired_state="running",observed_state="running"} 1',
        ),
      { what: "per-container metrics" },
    );
    const text = await (
      await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      })
    ).text();
    for (const name of [
      'orchestrator_instances{image_id="1",desired_state="running",observed_state="running"} 1',
      "orchestrator_reconcile_duration_seconds_bucket",
      "orchestrator_reconcile_errors_total",
      "orchestrator_workqueue_depth",
      "orchestrator_workqueue_oldest_item_age_seconds",
      "orchestrator_container_memory_usage_bytes{",
      "orchestrator_container_memory_usage_ratio{",
      "orchestrator_http_request_duration_seconds_bucket",
    ]) {
      expect(text, name).toContain(name);
    }
  });

  it("serves a container's logs, and follows them", async () => {
    await fetch(`http://127.0.0.1:${instance.host_port}/index.html`).then((response) =>
      response.text(),
    );
    const logs = await fetch(`${server.url}/api/containers/${instance.id}/logs?tail=50`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(logs.status).toBe(200);
    expect(logs.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(typeof (await logs.text())).toBe("string");
    const controller = new AbortController();
    const response = await fetch(
      `${server.url}/api/containers/${instance.id}/logs?follow=1&tail=10`,
      {
        headers: { authorization: `Bearer ${server.adminToken}` },
        signal: controller.signal,
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    controller.abort();
  });

  const scrape = () =>
    fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    }).then((response) => response.text());

  it("drops an instance's series once the instance is gone", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "ephemeral",
        image: testImages.httpd,
        desired_instances: 1,
        memory_limit: "32m",
      },
    });
    const [gone] = await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${created.body.id}/containers`)).body
          .items as any[],
      (items) => items[0]?.observed_state === "running",
      { what: "ephemeral running" },
    );
    const series = `instance_id="${gone.id}"`;
    await waitFor(scrape, (text) => text.includes(series), { what: "its series" });
    // The row goes without a last "stopped" sample: only the scrape can notice.
    await server.service.store.db.deleteFrom("instances").where("id", "=", gone.id).execute();
    await waitFor(scrape, (text) => !text.includes(series), { what: "its series gone" });
    expect(await scrape()).toContain(`instance_id="${instance.id}"`);
  });

  it("answers 404 to following the logs of a container gone from the engine", async () => {
    // No controller to put it back: the row still names the container the engine lost.
    await server.service.controller.stop(5_000);
    await docker.getContainer(instance.container_id).remove({ force: true });
    const response = await fetch(`${server.url}/api/containers/${instance.id}/logs?follow=1`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await response.json()) as { code: string }).code).toBe("not_found");
  });

  it("prunes snapshots older than the retention, and keeps recent ones", async () => {
    const db = server.service.store.db;
    await db
      .insertInto("health_snapshots")
      .values({
        instance_id: instance.id,
        image_id: instance.image_id,
        user_id: 1,
        container_id: instance.container_id,
        sampled_at: new Date(Date.now() - 10 * 86_400_000),
        status: "healthy",
      })
      .execute();
    const count = async () =>
      Number(
        (
          await server.service.store.db
            .selectFrom("health_snapshots")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("sampled_at", "<", new Date(Date.now() - 7 * 86_400_000))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await count()).toBe(1);
    // Pruning runs at the first sampling after a start (then hourly).
    await server.stop();
    server = await startTestServer({
      dataDir,
      orchestratorId: server.orchestratorId,
      env: { HEALTH_INTERVAL_SECONDS: "1" },
    });
    await waitFor(count, (n) => n === 0, { what: "old snapshot pruned" });
    const recent = (await server.request("GET", `/api/containers/${instance.id}/health/history`))
      .body.items;
    expect(recent.length).toBeGreaterThan(0);
  });
});
