import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const doc = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: testImages.httpd,
  desired_instances: 0,
  max_instances: 4,
  ...extra,
});

describe("POST /api/apply", () => {
  let server: TestServer;
  let alice: string;
  beforeAll(async () => {
    server = await startTestServer();
    alice = await server.createUser("alice");
  });
  afterAll(() => server?.stop());

  const apply = (body: unknown, query = "") =>
    server.request("POST", `/api/apply${query}`, { token: alice, body });

  it("plans without changing anything on a dry run", async () => {
    const response = await apply(
      { set: "apps", documents: [doc("shop"), doc("api")] },
      "?dry_run=1",
    );
    expect(response.status).toBe(200);
    expect(response.body.items.map((item: any) => [item.name, item.action])).toEqual([
      ["shop", "create"],
      ["api", "create"],
    ]);
    expect(response.body.summary).toEqual({ create: 2, change: 0, delete: 0, unchanged: 0 });
    expect((await server.request("GET", "/api/images", { token: alice })).body.items).toEqual([]);
  });

  it("creates, then reports unchanged, then updates and replaces only what changed", async () => {
    expect(
      (await apply({ set: "apps", documents: [doc("shop"), doc("api")] })).body.summary.create,
    ).toBe(2);
    const again = await apply({ set: "apps", documents: [doc("shop"), doc("api")] }, "?dry_run=1");
    expect(again.body.summary).toEqual({ create: 0, change: 0, delete: 0, unchanged: 2 });
    const changed = await apply({
      set: "apps",
      documents: [doc("shop", { desired_instances: 2 }), doc("api", { env: { MODE: "fast" } })],
    });
    const byName = Object.fromEntries(changed.body.items.map((item: any) => [item.name, item]));
    expect(byName.shop).toMatchObject({
      action: "update",
      changes: [{ field: "desired_instances", from: 0, to: 2 }],
    });
    expect(byName.api).toMatchObject({ action: "replace", reason: "env changed" });
    const shop = (await server.request("GET", "/api/images", { token: alice })).body.items.find(
      (i: any) => i.name === "shop",
    );
    expect(shop).toMatchObject({ desired_instances: 2, apply_set: "apps", generation: 2 });
  });

  it("prunes only what this set created, and refuses to empty a set without allow_empty", async () => {
    const manual = await server.request("POST", "/api/images", {
      token: alice,
      body: doc("by-hand"),
    });
    expect(manual.status).toBe(201);
    const pruned = await apply(
      { set: "apps", documents: [doc("shop", { desired_instances: 2 })] },
      "?prune=1",
    );
    expect(pruned.body.items.map((item: any) => [item.name, item.action])).toEqual([
      ["shop", "unchanged"],
      ["api", "delete"],
    ]);
    const images = (await server.request("GET", "/api/images", { token: alice })).body.items;
    expect(images.find((i: any) => i.name === "api").status).toBe("deleting");
    expect(images.find((i: any) => i.name === "by-hand").status).not.toBe("deleting");

    const empty = await apply({ set: "apps", documents: [] }, "?prune=1");
    expect(empty.status).toBe(409);
    expect(empty.body.detail).toMatch(/allow_empty/);
    const emptied = await apply({ set: "apps", documents: [] }, "?prune=1&allow_empty=1&dry_run=1");
    expect(emptied.status).toBe(200);
    expect(emptied.body.items.map((item: any) => item.action)).toEqual(["delete"]);
  });

  it("validates every document before changing anything", async () => {
    // What the API wrote (the controller may still be finishing the deletion pruned above).
    const desired = async () =>
      ((await server.request("GET", "/api/images", { token: alice })).body.items as any[])
        .filter((image) => image.status !== "deleting")
        .map((image) => [image.name, image.resource_version, image.generation]);
    const before = await desired();
    const response = await apply({
      set: "apps",
      documents: [
        doc("fresh"),
        doc("broken", { min_instances: 5 }),
        { name: "noimage" },
        doc("fresh"),
      ],
    });
    expect(response.status).toBe(422);
    expect(response.body.errors.map((error: any) => error.path)).toEqual([
      "documents[1].min_instances",
      "documents[1].desired_instances",
      "documents[2].image",
    ]);
    const duplicate = await apply({ set: "apps", documents: [doc("fresh"), doc("fresh")] });
    expect(duplicate.status).toBe(422);
    expect(await desired()).toEqual(before);
  });

  it("refuses images owned by another set, and a stale resource_version", async () => {
    const other = await apply({ set: "other-repo", documents: [doc("shop")] });
    expect(other.status).toBe(409);
    expect(other.body.detail).toMatch(/managed by apply set "apps"/);
    const stale = await apply({
      set: "apps",
      documents: [doc("shop", { desired_instances: 1, resource_version: 999 })],
    });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("stale_resource_version");
  });

  it("asks for an upload only when the source digest differs", async () => {
    const digest = "a".repeat(64);
    const first = await apply(
      {
        set: "apps",
        documents: [
          doc("shop", { desired_instances: 2 }),
          { name: "built", source_digest: digest },
        ],
      },
      "?dry_run=1",
    );
    expect(first.body.items.find((item: any) => item.name === "built")).toMatchObject({
      action: "create",
      needs_upload: true,
    });
  });
});
