/**
 * An `app_hostname` is what the hostname router routes by: a tenant that could claim another
 * tenant's hostname would get a share of its traffic (the router balances over every image with
 * that name), and one that could claim the router's own address (an IP literal, `localhost`, the
 * host of ROUTER_METRICS_URL) would answer the controller's scrape of the router's /metrics and
 * steer the autoscaler for every tenant. Both are refused, on every write path (create, PATCH,
 * apply), also when two tenants race for one name. On both backends; no container runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const routerHost = "router.ops.test";

const image = (name: string, hostname: string | null) => ({
  name,
  image: testImages.httpd,
  desired_instances: 0,
  min_instances: 0,
  app_hostname: hostname,
});

describe.each(backends())("app_hostname claims on %s", (backend) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: { ROUTER_METRICS_URL: `http://${routerHost}:9/metrics` },
    });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
  });
  afterAll(() => server?.stop());

  /** Every image row's `id:app_hostname`, as stored. */
  const hostnames = async () =>
    (
      await server.service.store.db
        .selectFrom("images")
        .select(["id", "app_hostname"])
        .where("app_hostname", "is not", null)
        .orderBy("id")
        .execute()
    ).map((row) => `${row.id}:${row.app_hostname}`);

  it("refuses another tenant's hostname on create, PATCH and apply, in any case", async () => {
    const shop = await server.request("POST", "/api/images", {
      token: alice,
      body: image("shop", "shop.claims.test"),
    });
    expect(shop.status).toBe(201);
    const before = await hostnames();

    for (const [index, hostname] of ["shop.claims.test", "SHOP.Claims.Test"].entries()) {
      const taken = await server.request("POST", "/api/images", {
        token: bob,
        body: image(`copy-${index}`, hostname),
      });
      expect(taken.status).toBe(409);
      expect(taken.body).toMatchObject({
        code: "hostname_taken",
        errors: [{ path: "app_hostname" }],
      });
    }

    const own = await server.request("POST", "/api/images", {
      token: bob,
      body: image("bobs", "bobs.claims.test"),
    });
    expect(own.status).toBe(201);
    const patched = await server.request("PATCH", `/api/images/${own.body.id}`, {
      token: bob,
      body: { app_hostname: "shop.claims.test" },
    });
    expect(patched.status).toBe(409);
    expect(patched.body).toMatchObject({ code: "hostname_taken" });

    const applied = await server.request("POST", "/api/apply", {
      token: bob,
      body: { set: "bobs", documents: [image("applied", "shop.claims.test")] },
    });
    expect(applied.status).toBe(409);
    expect(applied.body).toMatchObject({ code: "hostname_taken" });

    expect(await hostnames()).toEqual([...before, `${own.body.id}:bobs.claims.test`]);
    // The owner itself may keep and reuse its hostname.
    const again = await server.request("PATCH", `/api/images/${shop.body.id}`, {
      token: alice,
      body: { app_hostname: "shop.claims.test", max_instances: 3 },
    });
    expect(again.status).toBe(200);
  });

  it("gives a hostname two tenants race for to one of them only", async () => {
    const answers = await Promise.all(
      [alice, bob, alice, bob].map((token, index) =>
        server.request("POST", "/api/images", {
          token,
          body: image(`racer-${index}`, "raced.claims.test"),
        }),
      ),
    );
    const owners = new Set(
      answers.filter((answer) => answer.status === 201).map((answer) => answer.body.user_id),
    );
    expect(owners.size).toBe(1);
    for (const answer of answers) expect([201, 409]).toContain(answer.status);
  });

  it("refuses the router's own addresses: IP literals, localhost, ROUTER_METRICS_URL's host", async () => {
    const before = await hostnames();
    for (const hostname of ["127.0.0.1", "10.0.0.7", "localhost", "app.localhost", routerHost]) {
      const reserved = await server.request("POST", "/api/images", {
        token: bob,
        body: image("reserved", hostname),
      });
      expect(reserved.status, hostname).toBe(422);
      expect(reserved.body).toMatchObject({
        code: "validation_failed",
        errors: [{ path: "app_hostname" }],
      });
    }
    expect(await hostnames()).toEqual(before);
  });
});
