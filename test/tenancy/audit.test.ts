/**
 * The audit log: every desired-state write and every user, token or quota change says who
 * (user and token), when, and what changed (old → new); it is written in the transaction of the
 * change, so a refused change leaves no record. On both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.each(backends())("audit log on %s", (backend) => {
  let server: TestServer;
  let alice: string;
  let aliceTokenId: number;
  beforeAll(async () => {
    server = await startTestServer({ backend, env: { QUOTA_INSTANCES: "3" } });
    alice = await server.createUser("alice");
    aliceTokenId = (await server.request("GET", "/api/whoami", { token: alice })).body.token_id;
  });
  afterAll(() => server?.stop());

  const audit = async (query = "") => (await server.request("GET", `/api/audit${query}`)).body;
  const last = async (query = "") =>
    (await audit(`${query}${query ? "&" : "?"}limit=1000`)).items.at(-1);

  it("records a create with its actor, token, request and new values", async () => {
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: { name: "web", image: testImages.httpd, desired_instances: 0, memory_limit: "32m" },
    });
    expect(created.status).toBe(201);
    const record = await last();
    expect(record).toMatchObject({
      action: "image.create",
      actor: "alice",
      token_id: aliceTokenId,
      token_name: "default",
      request_id: created.headers.get("x-request-id"),
      image_id: created.body.id,
      target: `images/${created.body.id}`,
      old: null,
      new: {
        name: "web",
        desired_instances: 0,
        memory_limit: "32m",
        image_reference: testImages.httpd,
      },
    });
    expect(Date.parse(record.time)).not.toBeNaN();
    expect(record.user_id).toBe(record.actor_user_id);
  });

  it("records each change as old → new, for images and their instances", async () => {
    const id = (await server.request("GET", "/api/images", { token: alice })).body.items[0].id;
    await server.request("PATCH", `/api/images/${id}`, {
      token: alice,
      body: { desired_instances: 1, env: { MODE: "a" } },
    });
    expect(await last()).toMatchObject({
      action: "image.update",
      old: { desired_instances: 0, env: {}, generation: 1 },
      new: { desired_instances: 1, env: { MODE: "a" }, generation: 2 },
    });
    const [instance] = await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${id}/containers`, { token: alice })).body.items,
      (items: any[]) => items.length === 1,
      { what: "an instance row" },
    );
    await server.request("POST", `/api/containers/${instance.id}/stop`, { token: alice });
    expect(await last()).toMatchObject({
      action: "instance.stop",
      old: { [`instances.${instance.id}.desired_state`]: "running" },
      new: { [`instances.${instance.id}.desired_state`]: "stopped" },
    });
    await server.request("POST", `/api/containers/${id}`, { token: alice, body: { count: 1 } });
    expect(await last()).toMatchObject({
      action: "image.add_instances",
      old: { desired_instances: 1 },
      new: { desired_instances: 2 },
    });
    await server.request("DELETE", `/api/containers/${instance.id}`, { token: alice });
    expect(await last()).toMatchObject({
      action: "instance.delete",
      new: { desired_instances: 1 },
    });
  });

  it("leaves no record of a refused change", async () => {
    const id = (await server.request("GET", "/api/images", { token: alice })).body.items[0].id;
    const before = (await audit("?limit=1000")).items.length;
    const refused = await Promise.all([
      server.request("PATCH", `/api/images/${id}`, {
        token: alice,
        body: { desired_instances: 5 },
      }),
      server.request("PATCH", `/api/images/${id}`, {
        token: alice,
        body: { desired_instances: 0, resource_version: 999 },
      }),
      server.request("PATCH", `/api/images/${id}`, { token: alice, body: { cpu_limit: "nope" } }),
      server.request("POST", "/api/tokens", { body: { user: "nobody" } }),
    ]);
    expect(refused.map((answer) => answer.status)).toEqual([403, 409, 422, 422]);
    expect((await audit("?limit=1000")).items.length).toBe(before);
  });

  it("records apply, deletion, users, tokens and quotas, and filters and pages them", async () => {
    const applied = await server.request("POST", "/api/apply", {
      token: alice,
      body: {
        set: "site",
        documents: [{ name: "docs", image: testImages.httpd, desired_instances: 0 }],
      },
    });
    expect(applied.status).toBe(200);
    const docs = applied.body.items[0].image_id;
    expect(await last()).toMatchObject({ action: "image.create", image_id: docs, actor: "alice" });
    await server.request("POST", "/api/apply?prune=1&allow_empty=1", {
      token: alice,
      body: { set: "site", documents: [] },
    });
    expect(await last()).toMatchObject({
      action: "apply.prune",
      old: { status: expect.stringMatching(/^(pending|ready)$/) },
      new: { status: "deleting" },
    });
    await server.request("POST", "/api/users", { body: { name: "bob" } });
    expect(await last()).toMatchObject({
      action: "user.create",
      actor: "admin",
      token_id: null,
      token_name: "admin-token",
      new: { name: "bob" },
    });
    const token = await server.request("POST", "/api/tokens", {
      body: { user: "bob", scope: "read" },
    });
    const created = await last();
    expect(created).toMatchObject({
      action: "token.create",
      target: `tokens/${token.body.id}`,
      new: { user: "bob", scope: "read", name: "default" },
    });
    expect(JSON.stringify(created)).not.toContain(token.body.token);
    await server.request("DELETE", `/api/tokens/${token.body.id}`);
    expect(await last()).toMatchObject({ action: "token.revoke", old: { user: "bob" }, new: null });
    await server.request("PATCH", "/api/quota?user=bob", { body: { images: 2 } });
    expect(await last()).toMatchObject({
      action: "quota.update",
      target: "users/bob/quota",
      old: { images: null },
      new: { images: 2 },
    });

    const onlyDocs = await audit(`?image_id=${docs}`);
    expect(onlyDocs.items.map((record: { action: string }) => record.action)).toEqual([
      "image.create",
      "apply.prune",
    ]);
    const bobs = await audit("?user=bob");
    expect(bobs.items.map((record: { action: string }) => record.action)).toEqual([
      "user.create",
      "token.create",
      "token.revoke",
      "quota.update",
    ]);
    expect(
      (await audit("?actor=alice")).items.every((record: any) => record.actor === "alice"),
    ).toBe(true);
    const first = await audit("?limit=2");
    expect(first.items).toHaveLength(2);
    const second = await audit(`?limit=2&after=${first.next_after}`);
    expect(second.items[0].id).toBeGreaterThan(first.items[1].id);
  });

  it("is the admin's to read", async () => {
    const refused = await server.request("GET", "/api/audit", { token: alice });
    expect(refused.status).toBe(403);
    expect((await server.request("GET", "/api/audit?user=ghost")).status).toBe(404);
    expect((await server.request("GET", "/api/audit?limit=0")).status).toBe(422);
  });
});
