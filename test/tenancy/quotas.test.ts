/**
 * Quotas: a tenant's desired state is bounded in images, instances, CPU and memory; a write
 * past a limit answers 403 `quota_exceeded` naming it and changes nothing, also when many writes
 * race (the per-user lock serialises them). On both backends, on the real engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const quotaEnv = {
  QUOTA_IMAGES: "4",
  QUOTA_INSTANCES: "4",
  QUOTA_CPU: "1",
  QUOTA_MEMORY: "256m",
  QUOTA_CONCURRENT_BUILDS: "1",
  RATE_LIMIT_WRITES_PER_MINUTE: "100000",
};

const image = (name: string, fields: Record<string, unknown> = {}) => ({
  name,
  image: testImages.httpd,
  min_instances: 0,
  max_instances: 10,
  desired_instances: 0,
  cpu_limit: "0.25",
  memory_limit: "32m",
  ...fields,
});

describe.each(backends())("quotas on %s", (backend) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({ backend, env: quotaEnv });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
  });
  afterAll(() => server?.stop());

  const db = () => server.service.store.db;
  /** What a refused write must leave as it was: alice's images and the audit log. */
  const snapshot = async () => ({
    // Deleted images leave in the background: only the live ones are compared.
    images: await db()
      .selectFrom("images")
      .select(["id", "name", "desired_instances", "cpu_limit", "memory_limit", "resource_version"])
      .where("status", "<>", "deleting")
      .orderBy("id")
      .execute(),
    audit: Number(
      (
        await db()
          .selectFrom("audit_log")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  });
  const expectRefused = (
    response: { status: number; headers: Headers; body: any },
    limit: string,
  ) => {
    expect(response.status, JSON.stringify(response.body)).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.body).toMatchObject({ code: "quota_exceeded", limit });
    expect(response.body.detail).toContain(limit);
  };
  const deleteAll = async (token: string) => {
    for (const listed of (await server.request("GET", "/api/images", { token })).body.items) {
      await server.request("DELETE", `/api/images/${listed.id}`, { token });
    }
  };

  it("shows a user's limits, usage and overrides", async () => {
    const quota = await server.request("GET", "/api/quota", { token: alice });
    expect(quota.status).toBe(200);
    expect(quota.body).toEqual({
      user: "alice",
      user_id: expect.any(String),
      limits: { images: 4, instances: 4, cpu: "1", memory: "256m", concurrent_builds: 1 },
      usage: { images: 0, instances: 0, cpu: "0", memory: "0", concurrent_builds: 0 },
      overrides: {
        images: null,
        instances: null,
        cpu: null,
        memory: null,
        concurrent_builds: null,
      },
    });
    expect((await server.request("GET", "/api/quota?user=bob", { token: alice })).status).toBe(403);
    expect((await server.request("GET", "/api/quota?user=alice")).body.user).toBe("alice");
  });

  it("refuses an image past the images limit, changing nothing", async () => {
    for (const name of ["a1", "a2", "a3", "a4"]) {
      expect(
        (await server.request("POST", "/api/images", { token: alice, body: image(name) })).status,
      ).toBe(201);
    }
    const before = await snapshot();
    const refused = await server.request("POST", "/api/images", {
      token: alice,
      body: image("a5"),
    });
    expectRefused(refused, "images");
    expect(refused.body).toMatchObject({ used: 4, requested: 5, max: 4 });
    const applied = await server.request("POST", "/api/apply", {
      token: alice,
      body: { set: "more", documents: [image("a6")] },
    });
    expectRefused(applied, "images");
    expect(await snapshot()).toEqual(before);
    // Another tenant has a quota of their own.
    expect(
      (await server.request("POST", "/api/images", { token: bob, body: image("b1") })).status,
    ).toBe(201);
    await deleteAll(alice);
    await deleteAll(bob);
  });

  it("refuses instances, CPU and memory past their limits on every way in", async () => {
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: image("web", { desired_instances: 2 }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const before = await snapshot();
    expectRefused(
      await server.request("PATCH", `/api/images/${id}`, {
        token: alice,
        body: { desired_instances: 5 },
      }),
      "instances",
    );
    expectRefused(
      await server.request("POST", `/api/containers/${id}`, { token: alice, body: { count: 3 } }),
      "instances",
    );
    expectRefused(
      await server.request("PATCH", `/api/images/${id}`, {
        token: alice,
        body: { cpu_limit: "0.75" },
      }),
      "cpu",
    );
    expectRefused(
      await server.request("PATCH", `/api/images/${id}`, {
        token: alice,
        body: { memory_limit: "200m" },
      }),
      "memory",
    );
    expectRefused(
      await server.request("POST", "/api/images", {
        token: alice,
        body: image("big", { desired_instances: 1, memory_limit: "512m" }),
      }),
      "memory",
    );
    expect(await snapshot()).toEqual(before);
    const usage = (await server.request("GET", "/api/quota", { token: alice })).body.usage;
    expect(usage).toMatchObject({ images: 1, instances: 2, cpu: "0.5", memory: "64m" });
  });

  it("lets the admin change a user's limits, and a user over a lowered limit still scale down", async () => {
    // The image of the test before (`web`): those deleted earlier may still be listed while
    // the controller removes them, and then be gone.
    const id = (await server.request("GET", "/api/images", { token: alice })).body.items.find(
      (listed: { name: string }) => listed.name === "web",
    ).id;
    const patch = (body: Record<string, unknown>) =>
      server.request("PATCH", `/api/images/${id}`, { token: alice, body });
    const raised = await server.request("PATCH", "/api/quota?user=alice", {
      body: { instances: 6, cpu: "2" },
    });
    expect(raised.status).toBe(200);
    expect(raised.body.limits).toMatchObject({ instances: 6, cpu: "2", memory: "256m" });
    expect(raised.body.overrides).toMatchObject({ instances: 6, cpu: "2", images: null });
    expect((await patch({ desired_instances: 6 })).status).toBe(200);

    expect(
      (await server.request("PATCH", "/api/quota?user=alice", { body: { instances: 2 } })).status,
    ).toBe(200);
    // Over the lowered limit: asking for less, or for more of something else, still works.
    expect((await patch({ desired_instances: 5 })).status).toBe(200);
    expect((await patch({ memory_limit: "48m" })).status).toBe(200);
    expectRefused(await patch({ desired_instances: 6 }), "instances");
    expect(
      (
        await server.request("PATCH", "/api/quota?user=alice", {
          token: alice,
          body: { instances: 99 },
        })
      ).status,
    ).toBe(403);
    const reset = await server.request("PATCH", "/api/quota?user=alice", {
      body: { instances: null, cpu: null },
    });
    expect(reset.body.overrides).toMatchObject({ instances: null, cpu: null });
    expect(reset.body.limits).toMatchObject({ instances: 4, cpu: "1" });
    const bad = await server.request("PATCH", "/api/quota?user=alice", { body: { cpu: "lots" } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe("cpu");
    await patch({ desired_instances: 0 });
  });

  it("serialises racing writes of one user: they never overshoot together", async () => {
    await server.request("PATCH", "/api/quota?user=alice", {
      body: { instances: null, cpu: null, memory: null },
    });
    await deleteAll(alice);
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: image("race", { cpu_limit: "0.05", memory_limit: "8m" }),
    });
    const id = created.body.id;
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        server.request("POST", `/api/containers/${id}`, { token: alice, body: { count: 1 } }),
      ),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([...Array(4).fill(202), ...Array(8).fill(403)]);
    const after = await server.request("GET", `/api/images/${id}`, { token: alice });
    expect(after.body.desired_instances).toBe(4);

    const names = Array.from({ length: 10 }, (_, index) => `racer-${index}`);
    const creates = await Promise.all(
      names.map((name) =>
        server.request("POST", "/api/images", { token: alice, body: image(name) }),
      ),
    );
    expect(creates.filter((answer) => answer.status === 201)).toHaveLength(3);
    expect(creates.filter((answer) => answer.status === 403)).toHaveLength(7);
    expect((await server.request("GET", "/api/quota", { token: alice })).body.usage).toMatchObject({
      images: 4,
      instances: 4,
    });
    await server.request("PATCH", `/api/images/${id}`, {
      token: alice,
      body: { desired_instances: 0 },
    });
  });

  it("judges an apply by where it ends: freeing and taking in one set passes", async () => {
    await deleteAll(alice);
    const set = (left: number, right: number) => ({
      set: "pair",
      documents: [
        image("left", { desired_instances: left, cpu_limit: "0.05", memory_limit: "8m" }),
        image("right", { desired_instances: right, cpu_limit: "0.05", memory_limit: "8m" }),
      ],
    });
    expect(
      (await server.request("POST", "/api/apply", { token: alice, body: set(0, 4) })).status,
    ).toBe(200);
    // "left" asks for 4 before "right" gives its 4 back in the file's order: still within.
    const moved = await server.request("POST", "/api/apply", { token: alice, body: set(4, 0) });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expectRefused(
      await server.request("POST", "/api/apply", { token: alice, body: set(4, 1) }),
      "instances",
    );
    await server.request("POST", "/api/apply", { token: alice, body: set(0, 0) });
  });

  it("leaves the admin user unlimited unless the admin sets limits for it", async () => {
    for (let index = 0; index < 6; index++) {
      expect(
        (await server.request("POST", "/api/images", { body: image(`admin-${index}`) })).status,
      ).toBe(201);
    }
    const quota = (await server.request("GET", "/api/quota")).body;
    expect(quota.limits).toEqual({
      images: null,
      instances: null,
      cpu: null,
      memory: null,
      concurrent_builds: null,
    });
    await deleteAll(server.adminToken);
  });
});
