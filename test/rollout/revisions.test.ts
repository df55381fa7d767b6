/**
 * Revisions (issue 18): every change that needs new containers records a revision (number,
 * spec, image, who, when, cause) in the transaction of the change; a scale records none; the
 * last 10 are kept; the controller fills in the image a revision runs. `GET
 * /api/images/{id}/revisions` shows only the caller's images (another tenant gets 404). On both
 * backends, on the real engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.each(backends())("image revisions on %s", (backend) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: { QUOTA_CPU: "2", RATE_LIMIT_WRITES_PER_MINUTE: "100000" },
    });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
  });
  afterAll(() => server?.stop());

  async function createImage(name: string, token: string): Promise<number> {
    const created = await server.request("POST", "/api/images", {
      token,
      body: {
        name,
        image: testImages.httpd,
        min_instances: 0,
        max_instances: 4,
        desired_instances: 0,
        cpu_limit: "0.25",
        memory_limit: "32m",
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as number;
  }

  const revisionsOf = async (imageId: number, token: string) => {
    const listed = await server.request("GET", `/api/images/${imageId}/revisions`, { token });
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    return listed.body.items as any[];
  };

  const patch = (imageId: number, token: string, body: Record<string, unknown>) =>
    server.request("PATCH", `/api/images/${imageId}`, { token, body });

  it("records a revision for a change of what runs, none for a scale, with who and why", async () => {
    const imageId = await createImage("revisioned", alice);
    const [first] = await revisionsOf(imageId, alice);
    expect(first).toMatchObject({
      image_id: imageId,
      revision: 1,
      actor: "alice",
      cause: "image.create",
      current: true,
    });
    expect(first.spec).toMatchObject({ image: testImages.httpd, cpu_limit: "0.25" });

    expect((await patch(imageId, alice, { desired_instances: 2 })).status).toBe(200);
    expect((await revisionsOf(imageId, alice)).map((row) => row.revision)).toEqual([1]);
    // The controller resolves the reference and fills in the image the revision runs, also
    // from a pass that read the scale's generation (which runs revision 1) rather than its own.
    await waitFor(
      () => revisionsOf(imageId, alice),
      (rows) => typeof rows[0]?.docker_image_id === "string",
      { what: "revision 1 with its docker image", timeoutMs: 60_000 },
    );

    expect((await patch(imageId, alice, { env: { COLOUR: "blue" } })).status).toBe(200);
    const after = await revisionsOf(imageId, alice);
    expect(after.map((row) => [row.revision, row.current, row.cause])).toEqual([
      [2, true, "image.update"],
      [1, false, "image.create"],
    ]);
    expect(after[0].spec.env).toEqual({ COLOUR: "blue" });
    expect(after[0].spec.desired_instances).toBe(2);

    const resolved = await waitFor(
      () => revisionsOf(imageId, alice),
      (rows) => rows.every((row) => typeof row.docker_image_id === "string"),
      { what: "both revisions with their docker image", timeoutMs: 60_000 },
    );
    expect(resolved[0].docker_image_id).toMatch(/^sha256:/);
    expect(resolved[0].docker_image_id).toBe(resolved[1].docker_image_id);
  });

  it("a refused write records no revision", async () => {
    const imageId = await createImage("refused", alice);
    // Past QUOTA_CPU (2): refused after the row was written, so the transaction undoes both.
    const refused = await patch(imageId, alice, {
      env: { LARGE: "yes" },
      cpu_limit: "1",
      desired_instances: 4,
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(refused.body.code).toBe("quota_exceeded");
    expect((await revisionsOf(imageId, alice)).map((row) => row.revision)).toEqual([1]);
  });

  it("keeps the last 10 revisions", async () => {
    const imageId = await createImage("many-revisions", alice);
    for (let change = 1; change <= 12; change += 1) {
      const changed = await patch(imageId, alice, { env: { CHANGE: String(change) } });
      expect(changed.status).toBe(200);
    }
    const kept = await revisionsOf(imageId, alice);
    expect(kept.map((row) => row.revision)).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4]);
    expect(kept[0].spec.env).toEqual({ CHANGE: "12" });
  });

  it("another tenant gets 404, whether or not the image exists; the admin sees it", async () => {
    const imageId = await createImage("private", alice);
    const asBob = await server.request("GET", `/api/images/${imageId}/revisions`, { token: bob });
    expect(asBob.status).toBe(404);
    expect(asBob.body.code).toBe("not_found");
    const missing = await server.request("GET", "/api/images/999999/revisions", { token: bob });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe(asBob.body.code);
    const anonymous = await server.request("GET", `/api/images/${imageId}/revisions`, {
      token: null,
    });
    expect(anonymous.status).toBe(401);
    expect((await revisionsOf(imageId, server.adminToken)).map((row) => row.revision)).toEqual([1]);
  });
});
