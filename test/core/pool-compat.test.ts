/**
 * The original worker-pool routes on the compat listener (POOL_COMPAT_PORT), driven by a client
 * written from the original's documentation only (routes, JSON fields, status codes): a project
 * gets a machine, the same one again, gives it back, destroys one; /health and /machines/list
 * answer in the original's shape. Behind them: durable claims on one pooled image.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerSocketPath } from "../support/service-control.ts";
import { backends } from "../support/services.ts";
import { type SocketProxy, startSocketProxy } from "../support/socket-proxy.ts";
import { freePort } from "../support/spawn-server.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/** The original's client: GET /:projectId, DELETE /:projectId, POST /destroy, /health, /machines/list. */
function workerPoolClient(baseUrl: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await response.text();
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      body: text.length > 0 ? JSON.parse(text) : undefined,
    };
  };
  return {
    machineFor: (projectId: string) => call("GET", `/${encodeURIComponent(projectId)}`),
    release: (projectId: string) => call("DELETE", `/${encodeURIComponent(projectId)}`),
    destroy: (containerId?: string) =>
      call("POST", "/destroy", containerId === undefined ? {} : { containerId }),
    health: () => call("GET", "/health"),
    machines: () => call("GET", "/machines/list"),
  };
}

describe.each(backends())("the worker-pool compat listener (%s)", (backend) => {
  let server: TestServer;
  let client: ReturnType<typeof workerPoolClient>;

  beforeAll(async () => {
    const compatPort = await freePort();
    server = await startTestServer({
      backend,
      env: { POOL_COMPAT_PORT: String(compatPort), POOL_COMPAT_IMAGE: "workers" },
    });
    expect(server.service.compatPort).toBe(compatPort);
    client = workerPoolClient(`http://127.0.0.1:${compatPort}`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers 503 before its pool exists, then serves machines per project", async () => {
    expect((await client.machineFor("early")).status).toBe(503);
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "workers",
        image: testImages.httpd,
        memory_limit: "16m",
        pool: { min_idle: 2, max: 3 },
      },
    });
    expect(created.status).toBe(201);
    await waitFor(
      () => client.health(),
      (answer) => answer.body.machines.idle >= 2,
      { what: "two idle machines", timeoutMs: 90_000 },
    );
    const health = await client.health();
    expect(health.status).toBe(200);
    expect(health.body).toEqual({
      status: "ok",
      docker: "connected",
      machines: { total: 2, idle: 2, used: 0 },
    });

    const machine = await client.machineFor("project-a");
    expect(machine.status).toBe(200);
    expect(machine.body).toEqual({
      ip: "127.0.0.1",
      port: expect.any(Number),
      url: `http://127.0.0.1:${machine.body.port}`,
      containerId: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect((await fetch(`${machine.body.url}/index.html`)).status).toBe(200);
    // The same project gets the same machine (the original handed out a different one).
    expect((await client.machineFor("project-a")).body).toEqual(machine.body);

    const list = await client.machines();
    expect(list.status).toBe(200);
    const mine = (list.body as any[]).find(
      (entry) => entry.containerId === machine.body.containerId,
    );
    expect(mine).toEqual({
      id: expect.any(String),
      containerId: machine.body.containerId,
      ip: "127.0.0.1",
      port: machine.body.port,
      isUsed: true,
      assignedProject: "project-a",
      url: machine.body.url,
    });
    expect((list.body as any[]).filter((entry) => entry.isUsed)).toHaveLength(1);

    const other = await client.machineFor("project-b");
    expect(other.status).toBe(200);
    expect(other.body.containerId).not.toBe(machine.body.containerId);

    expect((await client.release("project-a")).status).toBe(200);
    expect((await client.release("project-a")).status).toBe(404);
    const listed = (await client.machines()).body as any[];
    expect(listed.some((entry) => entry.assignedProject === "project-a")).toBe(false);

    expect((await client.destroy()).status).toBe(400);
    expect((await client.destroy("0".repeat(64))).status).toBe(404);
    expect((await client.destroy(other.body.containerId)).status).toBe(200);
    await waitFor(
      () => client.machines(),
      (answer) =>
        !(answer.body as any[]).some((entry) => entry.containerId === other.body.containerId),
      { what: "the destroyed machine gone", timeoutMs: 60_000 },
    );
    // Destroyed with its project: project-b gets a new machine.
    // (It may have to wait for the refill: on 503 the caller retries, as the original's did.)
    const again = await waitFor(
      () => client.machineFor("project-b"),
      (answer) => answer.status === 200,
      { what: "a new machine for project-b", timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(again.body.containerId).not.toBe(other.body.containerId);

    // The claims behind it are the API's too, with their events.
    const claims = (await server.request("GET", "/api/claims")).body.items as any[];
    expect(claims.map((claim) => claim.key)).toEqual(["project-b"]);
  });

  it("answers 503 with Retry-After when every machine is taken", async () => {
    const health = await client.health();
    const used = health.body.machines.used as number;
    // As the original's callers do: on 503, retry in a few seconds (a machine being recycled
    // after a release may take longer than one request waits on a busy engine).
    for (let index = 0; index < 3 - used; index += 1) {
      await waitFor(
        () => client.machineFor(`filler-${index}`),
        (answer) => answer.status === 200,
        { what: `a machine for filler-${index}`, timeoutMs: 90_000, intervalMs: 1_000 },
      );
    }
    expect((await client.health()).body.machines).toMatchObject({ total: 3, used: 3 });
    const full = await client.machineFor("one-too-many");
    expect(full.status).toBe(503);
    expect(full.body.error).toMatch(/retry/i);
    expect(Number(full.retryAfter)).toBeGreaterThan(0);
  });
});

describe("the compat listener's /health while the engine is away", () => {
  let server: TestServer;
  let proxy: SocketProxy;

  beforeAll(async () => {
    proxy = await startSocketProxy({ path: dockerSocketPath() });
    const compatPort = await freePort();
    server = await startTestServer({
      env: {
        DOCKER_HOST: proxy.address,
        POOL_COMPAT_PORT: String(compatPort),
        POOL_COMPAT_IMAGE: "workers",
      },
    });
  });
  afterAll(async () => {
    proxy?.restore();
    await server?.stop();
    await proxy?.close();
  });

  it("answers 503 with docker disconnected, and 200 again once it is back", async () => {
    const client = workerPoolClient(`http://127.0.0.1:${server.service.compatPort}`);
    expect((await client.health()).status).toBe(200);
    proxy.cut();
    const away = await waitFor(
      () => client.health(),
      (answer) => answer.status === 503,
      { what: "health 503 while the engine is away", timeoutMs: 60_000 },
    );
    expect(away.body).toMatchObject({ status: "error", docker: "disconnected" });
    proxy.restore();
    const back = await waitFor(
      () => client.health(),
      (answer) => answer.status === 200,
      { what: "health 200 once the engine is back", timeoutMs: 60_000 },
    );
    expect(back.body).toEqual({
      status: "ok",
      docker: "connected",
      machines: { total: 0, idle: 0, used: 0 },
    });
  });
});
