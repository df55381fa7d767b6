/**
 * Warm pools on the real engine, on both backends: claims taken from idle instances (and the
 * same instance again for the same key), refill to min_idle, 503 with Retry-After when the pool
 * is full, release that recycles before reuse (a file the first claimant wrote is gone for the
 * next), TTL expiry by the controller, destroy, 200 concurrent claims for 100 keys, bad input,
 * and two tenants attacking each other's pools and claims.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliInProcess } from "../gitops/cli-harness.ts";
import { execIn, httpGet } from "../support/docker-helpers.ts";
import { announcedRemoval, removalTail } from "../support/removal-events.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/** How many keys the concurrency test claims for (twice each, at once). */
const concurrentKeys = Number(process.env.POOL_TEST_KEYS ?? 100);

describe.each(backends())("warm pools (%s)", (backend) => {
  let server: TestServer;
  let alice: string;
  let bob: string;

  const as = (token: string, method: string, urlPath: string, body?: unknown) =>
    server.request(method, urlPath, { token, ...(body === undefined ? {} : { body }) });

  const createPool = async (token: string, name: string, pool: Record<string, unknown>) => {
    const created = await as(token, "POST", "/api/images", {
      name,
      image: testImages.httpd,
      memory_limit: "16m",
      cpu_limit: "0.1",
      pool,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as number;
  };

  const instancesOf = async (token: string, imageId: number) =>
    (await as(token, "GET", `/api/images/${imageId}/containers`)).body.items as any[];

  const idle = (items: readonly any[]) =>
    items.filter(
      (item) =>
        item.claimed_by === null &&
        !item.marked_for_deletion &&
        item.recycle_requested_at === null &&
        item.observed_state === "running",
    );

  const waitIdle = (token: string, imageId: number, count: number, timeoutMs = 90_000) =>
    waitFor(
      () => instancesOf(token, imageId),
      (items) => idle(items).length >= count,
      { what: `${count} idle instances of image ${imageId}`, timeoutMs },
    );

  const claim = (token: string, imageId: number, key: string, wait = "60s") =>
    as(token, "POST", `/api/images/${imageId}/claims?wait=${wait}`, { key });

  const eventsOf = async (imageId: number, type: string) =>
    (await as(alice, "GET", `/api/events?image_id=${imageId}&type=${type}&limit=1000`)).body
      .items as any[];

  /** The instance's events from its announcement on, once its removal is in the log. */
  const removalOf = async (imageId: number, instanceId: string) => {
    const events = await waitFor(
      async () =>
        (
          await as(
            alice,
            "GET",
            `/api/events?image_id=${imageId}&instance_id=${instanceId}&limit=1000`,
          )
        ).body.items as any[],
      (items) => items.some((event) => event.type === "container.removed"),
      { what: `instance ${instanceId} removed`, timeoutMs: 60_000 },
    );
    return removalTail(events, instanceId);
  };

  beforeAll(async () => {
    server = await startTestServer({
      backend,
      // The concurrency test's pool counts its max against alice's quota.
      env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000", QUOTA_INSTANCES: "1000" },
    });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("claims an idle instance, gives a key the same one again, refills, and says so", async () => {
    const imageId = await createPool(alice, "shop", { min_idle: 2, max: 3 });
    await waitIdle(alice, imageId, 2);

    const first = await claim(alice, imageId, "project-1");
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ key: "project-1", image_id: imageId, host: "127.0.0.1" });
    expect(first.body.url).toBe(`http://127.0.0.1:${first.body.port}`);
    expect(await httpGet(first.body.port, "/index.html")).toMatchObject({ status: 200 });
    expect(Date.parse(first.body.expires_at) - Date.parse(first.body.claimed_at)).toBe(3_600_000);

    const again = await claim(alice, imageId, "project-1");
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    // The instance's status names its claimant; the pool refills to two idle (three in all).
    const instance = (await as(alice, "GET", `/api/containers/${first.body.instance_id}`)).body;
    expect(instance).toMatchObject({ claimed_by: "project-1", claim_id: first.body.claim_id });
    expect(instance.claimed_at).toBe(first.body.claimed_at);
    const refilled = await waitIdle(alice, imageId, 2);
    expect(refilled).toHaveLength(3);
    // Ready counts the pool's own target (claimed + min_idle), not desired_instances.
    const ready = await waitFor(
      async () => (await as(alice, "GET", `/api/images/${imageId}`)).body.conditions as any[],
      (conditions) => conditions.some((c) => c.type === "Ready" && c.status === "True"),
      { what: "the pool Ready", timeoutMs: 60_000 },
    );
    expect(ready.find((c) => c.type === "Ready").message).toMatch(/^3\/3 instances/);

    const second = await claim(alice, imageId, "project-2");
    expect(second.status).toBe(200);
    expect(second.body.instance_id).not.toBe(first.body.instance_id);
    const third = await claim(alice, imageId, "project-3");
    expect(third.status).toBe(200);
    expect(new Set([first, second, third].map((answer) => answer.body.instance_id)).size).toBe(3);

    // All three claimed, at max: a fourth key waits, then 503 with Retry-After.
    const full = await claim(alice, imageId, "project-4", "500ms");
    expect(full.status).toBe(503);
    expect(full.body.code).toBe("pool_exhausted");
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await instancesOf(alice, imageId)).toHaveLength(3);

    const listed = (await as(alice, "GET", "/api/claims")).body.items as any[];
    expect(listed.map((item) => item.key).sort()).toEqual(["project-1", "project-2", "project-3"]);
    expect((await as(alice, "GET", `/api/claims/${second.body.claim_id}`)).body).toEqual(
      second.body,
    );
    expect((await as(alice, "GET", "/api/claims?key=project-3")).body.items).toEqual([third.body]);

    const renewed = await as(alice, "POST", `/api/claims/${first.body.claim_id}/renew`, {
      ttl: "2h",
    });
    expect(renewed.status).toBe(200);
    expect(Date.parse(renewed.body.expires_at)).toBeGreaterThan(Date.parse(first.body.expires_at));

    // Released by key: project-4 then gets an instance (the recycled one, or a refill).
    const released = await as(alice, "DELETE", "/api/claims?key=project-2");
    expect(released.status).toBe(200);
    expect(released.body.items).toEqual([
      expect.objectContaining({ claim_id: second.body.claim_id, released: true }),
    ]);
    expect((await as(alice, "GET", `/api/claims/${second.body.claim_id}`)).status).toBe(404);
    const fourth = await claim(alice, imageId, "project-4");
    expect(fourth.status, JSON.stringify(fourth.body)).toBe(200);

    const claimed = await eventsOf(imageId, "pool.claimed");
    expect(claimed.map((event) => event.data.key).sort()).toEqual([
      "project-1",
      "project-2",
      "project-3",
      "project-4",
    ]);
    expect(claimed[0].data).toMatchObject({
      claim_id: first.body.claim_id,
      instance_id: first.body.instance_id,
      host_port: first.body.port,
      user_id: expect.any(String),
    });
    const releasedEvents = await eventsOf(imageId, "pool.released");
    expect(releasedEvents.map((event) => [event.data.key, event.data.reason])).toEqual([
      ["project-2", "released"],
    ]);
  });

  it("recycles a released instance before the next claimant: nothing of the first stays", async () => {
    for (const recycle of ["restart", "replace"] as const) {
      const imageId = await createPool(alice, `recycle-${recycle}`, {
        min_idle: 1,
        max: 1,
        recycle,
      });
      await waitIdle(alice, imageId, 1);
      const first = await claim(alice, imageId, "writer");
      expect(first.status).toBe(200);
      const written = await execIn(first.body.container_id, [
        "sh",
        "-c",
        "echo secret > /www/left-behind.txt && cat /www/left-behind.txt",
      ]);
      expect(written.output).toContain("secret");
      expect(await httpGet(first.body.port, "/left-behind.txt")).toMatchObject({ status: 200 });

      expect((await as(alice, "DELETE", `/api/claims/${first.body.claim_id}`)).status).toBe(200);
      // max 1: the next claim can only have the recycled (restart) or replacing instance.
      const next = await claim(alice, imageId, "reader");
      expect(next.status, JSON.stringify(next.body)).toBe(200);
      expect(next.body.container_id).not.toBe(first.body.container_id);
      if (recycle === "restart") expect(next.body.instance_id).toBe(first.body.instance_id);
      else {
        expect(next.body.instance_id).not.toBe(first.body.instance_id);
        // The released instance went with its container: announced once, before its stop.
        expect(await removalOf(imageId, first.body.instance_id)).toEqual(
          announcedRemoval("recycle"),
        );
      }
      const listing = await execIn(next.body.container_id, ["ls", "/www"]);
      expect(listing.output).not.toContain("left-behind");
      expect(await httpGet(next.body.port, "/left-behind.txt")).toMatchObject({ status: 404 });
    }
  });

  it("expires a claim past its TTL: the controller releases it and says so", async () => {
    const imageId = await createPool(alice, "short", { min_idle: 1, max: 2, claim_ttl: "2s" });
    await waitIdle(alice, imageId, 1);
    const held = await claim(alice, imageId, "brief");
    expect(held.status).toBe(200);
    await waitFor(
      async () => (await as(alice, "GET", `/api/claims/${held.body.claim_id}`)).status,
      (status) => status === 404,
      { what: "the claim expired", timeoutMs: 60_000 },
    );
    const expired = await eventsOf(imageId, "pool.expired");
    expect(expired.map((event) => [event.data.claim_id, event.data.reason])).toEqual([
      [held.body.claim_id, "expired"],
    ]);
    // The key may claim again: a new claim (after a recycle).
    const again = await claim(alice, imageId, "brief");
    expect(again.status).toBe(200);
    expect(again.body.claim_id).not.toBe(held.body.claim_id);
  });

  it("destroys an instance for good; its claim goes with it and the pool refills", async () => {
    const imageId = await createPool(alice, "doomed", { min_idle: 1, max: 3 });
    await waitIdle(alice, imageId, 1);
    const held = await claim(alice, imageId, "victim");
    const destroyed = await as(alice, "POST", `/api/containers/${held.body.instance_id}/destroy`);
    expect(destroyed.status).toBe(202);
    expect(destroyed.body.marked_for_deletion).toBe(true);
    await waitFor(
      () => instancesOf(alice, imageId),
      (items) =>
        !items.some((item) => item.id === held.body.instance_id) && idle(items).length >= 1,
      { what: "destroyed and refilled", timeoutMs: 60_000 },
    );
    expect((await as(alice, "GET", `/api/claims/${held.body.claim_id}`)).status).toBe(404);
    const released = await eventsOf(imageId, "pool.released");
    expect(released.map((event) => [event.data.key, event.data.reason])).toEqual([
      ["victim", "destroyed"],
    ]);
    expect(await removalOf(imageId, held.body.instance_id)).toEqual(announcedRemoval("destroyed"));
  });

  it(`gives ${concurrentKeys} keys claiming twice at once exactly ${concurrentKeys} distinct instances, each key its own`, async () => {
    const imageId = await createPool(alice, "crowd", {
      min_idle: concurrentKeys,
      max: concurrentKeys,
    });
    await waitIdle(alice, imageId, concurrentKeys, 300_000);
    const keys = Array.from({ length: concurrentKeys }, (_, index) => `p-${index}`);
    const answers = await Promise.all(
      [...keys, ...keys]
        .sort(() => Math.random() - 0.5)
        .map(async (key) => ({ key, answer: await claim(alice, imageId, key) })),
    );
    const failures = answers.filter(({ answer }) => answer.status !== 200);
    expect(failures.map(({ answer }) => answer.body)).toEqual([]);
    const byKey = new Map<string, Set<string>>();
    for (const { key, answer } of answers) {
      byKey.set(key, (byKey.get(key) ?? new Set()).add(answer.body.instance_id));
    }
    expect([...byKey.values()].every((instances) => instances.size === 1)).toBe(true);
    const instances = new Set(answers.map(({ answer }) => answer.body.instance_id));
    expect(instances.size).toBe(concurrentKeys);
    // The database agrees: one claim per instance, one instance per key.
    const claims = (await as(alice, "GET", `/api/claims?image_id=${imageId}`)).body.items as any[];
    expect(claims).toHaveLength(concurrentKeys);
    expect(new Set(claims.map((item) => item.instance_id)).size).toBe(concurrentKeys);
    expect((await eventsOf(imageId, "pool.claimed")).length).toBe(concurrentKeys);
    // Free the engine for the suites after this one.
    expect((await as(alice, "DELETE", `/api/images/${imageId}`)).status).toBe(202);
  }, 600_000); // a hundred containers to start first on a busy engine

  it("claims and releases from the command line; get images -o wide shows the pool", async () => {
    const imageId = await createPool(alice, "cli-pool", { min_idle: 1, max: 2 });
    await waitIdle(alice, imageId, 1);
    const env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: alice };
    const claimed = await cliInProcess(["claim", "cli-key", "--image", "cli-pool"], env);
    expect(claimed.stderr).toBe("");
    expect(claimed.code).toBe(0);
    const held = (await as(alice, "GET", `/api/claims?image_id=${imageId}&key=cli-key`)).body
      .items[0];
    expect(claimed.stdout).toBe(`${held.url}\n`);
    expect((await cliInProcess(["claim", "cli-key", "--image", "cli-pool"], env)).stdout).toBe(
      claimed.stdout,
    );
    // The controller refills the pool to claimed + min_idle after the claim: wait for its row.
    await waitFor(
      () => cliInProcess(["get", "images", "cli-pool", "-o", "wide"], env),
      (wide) => wide.stdout.includes("1/2 claimed (min_idle 1, max 2)"),
      { what: "get images -o wide showing the refilled pool", timeoutMs: 90_000 },
    );
    const released = await cliInProcess(["release", "cli-key"], env);
    expect(released.code).toBe(0);
    expect(released.stdout).toContain(`released cli-key (instance ${held.instance_id}`);
    expect((await cliInProcess(["release", "cli-key"], env)).stdout).toBe("cli-key held nothing\n");
    const missing = await cliInProcess(["claim", "k", "--image", "no-such"], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("no image named no-such");
  });

  it("refuses bad pools and bad claims with the field, changing nothing", async () => {
    for (const [pool, path] of [
      [{ min_idle: 5, max: 2 }, "pool.min_idle"],
      [{ max: 0 }, "pool.max"],
      [{ max: 100_000 }, "pool.max"],
      [{ claim_ttl: "forever" }, "pool.claim_ttl"],
      [{ recycle: "reboot" }, "pool.recycle"],
      [{ size: 3 }, "pool.size"],
    ] as const) {
      const refused = await as(alice, "POST", "/api/images", {
        name: "bad-pool",
        image: testImages.httpd,
        pool,
      });
      expect(refused.status, JSON.stringify(pool)).toBe(422);
      expect(refused.headers.get("content-type")).toContain("application/problem+json");
      expect(refused.body.errors.map((error: any) => error.path)).toContain(path);
    }
    expect(
      (await as(alice, "GET", "/api/images")).body.items.map((i: any) => i.name),
    ).not.toContain("bad-pool");

    const plain = await as(alice, "POST", "/api/images", {
      name: "plain",
      image: testImages.httpd,
      desired_instances: 0,
    });
    const notPooled = await claim(alice, plain.body.id, "k");
    expect(notPooled.status).toBe(409);
    expect(notPooled.body.errors).toEqual([expect.objectContaining({ path: "pool" })]);

    const imageId = await createPool(alice, "strict", { min_idle: 0, max: 1 });
    for (const body of [
      {},
      { key: "" },
      { key: "has space" },
      { key: 7 },
      { key: "x", other: 1 },
    ]) {
      const refused = await as(alice, "POST", `/api/images/${imageId}/claims`, body);
      expect(refused.status, JSON.stringify(body)).toBe(422);
    }
    expect(
      (await as(alice, "POST", `/api/images/${imageId}/claims?wait=soon`, { key: "k" })).status,
    ).toBe(422);
    expect(
      (await as(alice, "POST", `/api/images/${imageId}/claims?wait=10m`, { key: "k" })).status,
    ).toBe(422);
    expect((await as(alice, "GET", "/api/claims/not-a-claim")).status).toBe(422);
    expect((await as(alice, "DELETE", "/api/claims")).status).toBe(422);
    expect(await instancesOf(alice, imageId)).toEqual([]);
    expect((await as(alice, "GET", `/api/claims?image_id=${imageId}`)).body.items).toEqual([]);
  });

  it("keeps tenants apart: another tenant can neither claim, see, renew, release nor destroy", async () => {
    const imageId = await createPool(alice, "private", { min_idle: 1, max: 2 });
    await waitIdle(alice, imageId, 1);
    const held = await claim(alice, imageId, "shared-name");
    expect(held.status).toBe(200);
    const before = (await as(alice, "GET", `/api/claims/${held.body.claim_id}`)).body;

    expect((await claim(bob, imageId, "shared-name", "0s")).status).toBe(404);
    expect((await claim(bob, imageId, "mine", "0s")).status).toBe(404);
    expect((await as(bob, "GET", `/api/images/${imageId}/claims`)).status).toBe(404);
    expect((await as(bob, "GET", `/api/claims/${held.body.claim_id}`)).status).toBe(404);
    expect((await as(bob, "POST", `/api/claims/${held.body.claim_id}/renew`, {})).status).toBe(404);
    expect((await as(bob, "DELETE", `/api/claims/${held.body.claim_id}`)).status).toBe(404);
    expect(
      (await as(bob, "DELETE", `/api/claims?key=shared-name&image_id=${imageId}`)).body.items,
    ).toEqual([]);
    expect((await as(bob, "DELETE", "/api/claims?key=shared-name")).body.items).toEqual([]);
    expect((await as(bob, "POST", `/api/containers/${held.body.instance_id}/destroy`)).status).toBe(
      404,
    );
    expect((await as(bob, "GET", "/api/claims")).body.items).toEqual([]);
    const bobEvents = (await as(bob, "GET", "/api/events?type=pool.claimed")).body.items;
    expect(bobEvents).toEqual([]);

    // Bob's own pool with the same key is his own claim, on his own instance.
    const bobPool = await createPool(bob, "private", { min_idle: 1, max: 1 });
    await waitIdle(bob, bobPool, 1);
    const bobs = await claim(bob, bobPool, "shared-name");
    expect(bobs.status).toBe(200);
    expect(bobs.body.instance_id).not.toBe(held.body.instance_id);
    expect((await as(alice, "GET", `/api/claims/${held.body.claim_id}`)).body).toEqual(before);
    expect((await as(alice, "GET", `/api/claims/${bobs.body.claim_id}`)).status).toBe(404);
  });
});
