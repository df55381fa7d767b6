import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managedContainers } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const valid = {
  name: "shop",
  image: testImages.httpd,
  desired_instances: 0,
  min_instances: 0,
  max_instances: 3,
};

describe("images API: bad input changes nothing", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { MAX_INSTANCES_CAP: "20" } });
  });
  afterAll(() => server?.stop());

  const count = async () => (await server.request("GET", "/api/images")).body.items.length;

  it.each([
    [{ ...valid, min_instances: 3, max_instances: 2 }, "min_instances", /≤ max_instances/],
    [{ ...valid, desired_instances: 5 }, "desired_instances", /≤ max_instances \(3\)/],
    [{ ...valid, min_instances: 2, desired_instances: 1 }, "desired_instances", /≥ min_instances/],
    [{ ...valid, max_instances: 0 }, "max_instances", /at least 1/],
    [{ ...valid, max_instances: 21 }, "max_instances", /at most 20/],
    [{ ...valid, cpu_limit: "lots" }, "cpu_limit", /cores/],
    [{ ...valid, cpu_limit: "0" }, "cpu_limit", /at least/],
    [{ ...valid, cpu_limit: -1 }, "cpu_limit", /cores/],
    [{ ...valid, cpu_limit: "9999" }, "cpu_limit", /at most 256/],
    [{ ...valid, memory_limit: "1m" }, "memory_limit", /at least 6m/],
    [{ ...valid, memory_limit: "huge" }, "memory_limit", /size like/],
    [{ ...valid, memory_limit: "5t" }, "memory_limit", /at most 1t/],
    [{ ...valid, container_port: 70000 }, "container_port", /1 and 65535/],
    [{ ...valid, container_port: 0 }, "container_port", /1 and 65535/],
    [{ ...valid, name: "Bad Name" }, "name", /lowercase/],
    [{ ...valid, image: "UPPER/Case:bad tag" }, "image", /reference/],
    [{ ...valid, env: { "1BAD": "x" } }, "env.1BAD", /variable name/],
    [{ ...valid, colour: "red" }, "colour", /unknown field/],
    [
      { ...valid, health_check: { http_path: "/h", test: ["CMD", "true"] } },
      "health_check",
      /exactly one/,
    ],
    [{ ...valid, app_hostname: "not a host" }, "app_hostname", /hostname/],
  ])("refuses %o at %s", async (body, path, message) => {
    const before = await count();
    const response = await server.request("POST", "/api/images", { body });
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    const error = (response.body.errors as any[]).find((candidate) => candidate.path === path);
    expect(error, JSON.stringify(response.body.errors)).toBeDefined();
    expect(error.message).toMatch(message);
    expect(await count()).toBe(before);
  });

  it("refuses a body without an image reference, and an existing name", async () => {
    const missing = await server.request("POST", "/api/images", { body: { name: "noimage" } });
    expect(missing.status).toBe(422);
    expect(missing.body.errors[0].path).toBe("image");
    expect((await server.request("POST", "/api/images", { body: valid })).status).toBe(201);
    const again = await server.request("POST", "/api/images", { body: valid });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("name_taken");
  });

  it("accepts the quantity spellings users write, canonically", async () => {
    for (const [cpu, memory, expected] of [
      ["0.5", "512m", ["0.5", "512m"]],
      ["500m", "256Mi", ["0.5", "256m"]],
      [2, "1Gi", ["2", "1g"]],
      ["1", 268435456, ["1", "256m"]],
    ] as const) {
      const response = await server.request("POST", "/api/images", {
        body: {
          ...valid,
          name: `q-${String(cpu).replace(".", "-")}-${String(memory).toLowerCase()}`,
          cpu_limit: cpu,
          memory_limit: memory,
        },
      });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect([response.body.cpu_limit, response.body.memory_limit]).toEqual(expected);
    }
  });

  it("refuses a bad PATCH, and a stale resource_version, leaving the image unchanged", async () => {
    const image = (await server.request("GET", "/api/images")).body.items.find(
      (item: any) => item.name === "shop",
    );
    const tooMany = await server.request("PATCH", `/api/images/${image.id}`, {
      body: { desired_instances: 4 },
    });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body.errors[0]).toMatchObject({ path: "desired_instances" });
    const unknown = await server.request("PATCH", `/api/images/${image.id}`, {
      body: { replicas: 2 },
    });
    expect(unknown.status).toBe(422);
    const stale = await server.request("PATCH", `/api/images/${image.id}`, {
      body: { desired_instances: 1, resource_version: image.resource_version + 5 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("stale_resource_version");
    const after = (await server.request("GET", `/api/images/${image.id}`)).body;
    expect(after).toMatchObject({
      desired_instances: 0,
      generation: image.generation,
      resource_version: image.resource_version,
    });
    const current = await server.request("PATCH", `/api/images/${image.id}`, {
      body: { max_instances: 4, resource_version: image.resource_version },
    });
    expect(current.status).toBe(200);
    expect(current.body.resource_version).toBe(image.resource_version + 1);
    const same = await server.request("PATCH", `/api/images/${image.id}`, {
      body: { max_instances: 4 },
    });
    expect(same.body.generation).toBe(current.body.generation); // no change, no new generation
  });

  it("degrades an image whose reference cannot be found or pulled, retrying with back-off", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        ...valid,
        name: "ghost",
        image: "orchestrator-test/does-not-exist:1",
        desired_instances: 1,
      },
    });
    expect(created.status).toBe(201);
    const image = await waitFor(
      async () => (await server.request("GET", `/api/images/${created.body.id}`)).body,
      (body) =>
        body.conditions.some(
          (condition: any) => condition.type === "Degraded" && condition.status === "True",
        ),
      { what: "Degraded" },
    );
    const degraded = image.conditions.find((condition: any) => condition.type === "Degraded");
    expect(degraded.reason).toBe("ImagePullFailed");
    expect(degraded.message).toMatch(
      /orchestrator-test\/does-not-exist:1 could not be pulled: .+/,
    );
    expect(image.status).toBe("pending");
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const metrics = await (
      await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      })
    ).text();
    const failures = Number(
      /orchestrator_reconcile_errors_total\{reason="ImagePullFailed"\} (\d+)/.exec(metrics)?.[1],
    );
    // Back-off 1 s, 2 s, 4 s, …: a handful of tries in ~7 s, not hundreds.
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(failures).toBeLessThanOrEqual(5);
    expect(await managedContainers(server.orchestratorId, created.body.id)).toEqual([]);
  });

  it("pages and filters the event log", async () => {
    const shop = (await server.request("GET", "/api/images")).body.items.find(
      (item: any) => item.name === "shop",
    );
    await server.request("POST", `/api/containers/${shop.id}`, { body: { count: 1 } });
    await server.request("PATCH", `/api/images/${shop.id}`, { body: { desired_instances: 0 } });
    const all = (await server.request("GET", "/api/events?limit=1000")).body.items as any[];
    expect(all.length).toBeGreaterThanOrEqual(2);
    const scaled = (
      await server.request("GET", `/api/events?image_id=${shop.id}&type=image.scaled`)
    ).body.items;
    expect(scaled.map((event: any) => event.data.desired_instances)).toEqual([1, 0]);
    const first = await server.request("GET", "/api/events?limit=1");
    expect(first.body.items).toHaveLength(1);
    const next = await server.request("GET", `/api/events?limit=1&after=${first.body.next_after}`);
    expect(next.body.items[0]?.seq ?? null).toBe(all[1]?.seq ?? null);
    const bad = await server.request("GET", "/api/events?type=container.exploded");
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toMatch(/^type/);
    const since = await server.request(
      "GET",
      `/api/events?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
    );
    expect(since.body.items).toEqual([]);
  });
});

describe("tenancy", () => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  let aliceImage: any;
  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
    aliceImage = (
      await server.request("POST", "/api/images", {
        token: alice,
        body: { ...valid, name: "secret-app" },
      })
    ).body;
  });
  afterAll(() => server?.stop());

  it("shows a user only their own images, containers and events", async () => {
    expect((await server.request("GET", "/api/images", { token: bob })).body.items).toEqual([]);
    expect((await server.request("GET", "/api/containers", { token: bob })).body.items).toEqual([]);
    expect((await server.request("GET", "/api/events", { token: bob })).body.items).toEqual([]);
    expect((await server.request("GET", "/api/images", { token: alice })).body.items).toHaveLength(
      1,
    );
    expect(
      (await server.request("GET", "/api/images")).body.items.map((item: any) => item.name),
    ).toContain("secret-app");
  });

  it.each([
    ["GET", ""],
    ["PATCH", ""],
    ["DELETE", ""],
    ["GET", "/containers"],
  ])("answers 404 to %s on another tenant's image%s", async (method, suffix) => {
    const response = await server.request(method, `/api/images/${aliceImage.id}${suffix}`, {
      token: bob,
      ...(method === "PATCH" ? { body: { desired_instances: 1 } } : {}),
    });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe("not_found");
  });

  it("answers 404 to adding containers to another tenant's image, and changes nothing", async () => {
    const response = await server.request("POST", `/api/containers/${aliceImage.id}`, {
      token: bob,
      body: { count: 1 },
    });
    expect(response.status).toBe(404);
    const image = (await server.request("GET", `/api/images/${aliceImage.id}`, { token: alice }))
      .body;
    expect(image.desired_instances).toBe(0);
    expect(image.status).not.toBe("deleting");
  });

  it("says who a token belongs to, and lets the admin list one user's images", async () => {
    expect((await server.request("GET", "/api/whoami", { token: alice })).body).toEqual({
      user: "alice",
      user_id: expect.any(String),
      admin: false,
      scope: "write",
      token_id: expect.any(Number),
    });
    expect((await server.request("GET", "/api/whoami")).body).toMatchObject({
      user: "admin",
      admin: true,
    });
    const mine = (await server.request("GET", "/api/images?user=alice")).body.items.map(
      (item: any) => item.name,
    );
    expect(mine).toEqual(["secret-app"]);
    const withCounts = (
      await server.request("GET", "/api/images/with-containers", { token: alice })
    ).body.items;
    expect(withCounts[0]).toMatchObject({
      name: "secret-app",
      containers: { total: 0, running: 0 },
    });
    expect((await server.request("GET", "/api/images?user=alice", { token: bob })).status).toBe(
      403,
    );
  });

  it("lets the admin act for a user", async () => {
    const created = await server.request("POST", "/api/images?user=bob", {
      body: { ...valid, name: "for-bob" },
    });
    expect(created.status).toBe(201);
    expect(
      (await server.request("GET", "/api/images", { token: bob })).body.items.map(
        (item: any) => item.name,
      ),
    ).toEqual(["for-bob"]);
    const notAdmin = await server.request("POST", "/api/images?user=alice", {
      token: bob,
      body: { ...valid, name: "sneaky" },
    });
    expect(notAdmin.status).toBe(403);
  });
});
