/**
 * An automatic rollback never takes back a fixed host port that another tenant's image asked
 * for after the revision that had it went away: the failed rollout stays failed (Progressing
 * RolloutFailed, no new revision), and the port stays the other tenant's. Two users, on the
 * real engine, on both backends.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { conditionOf, servesThenFails } from "./rollout-observe.ts";

/** A block of host ports tenants may ask for in this run (HOST_PORT_RANGE). */
const portBase = 44_000 + (randomBytes(2).readUInt16BE() % 40) * 50;

describe.each(backends())("automatic rollback and fixed host ports on %s", (backend) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: { HOST_PORT_RANGE: `${portBase}-${portBase + 49}`, PUBLISH_IP: "127.0.0.1" },
    });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
  });
  afterAll(() => server?.stop());

  const as = (token: string) => (method: string, path: string, body?: unknown) =>
    server.request(method, path, { token, ...(body === undefined ? {} : { body }) });

  it("keeps a failed rollout failed rather than take back a port another tenant took", async () => {
    const port = portBase + 1 + (backend === "pglite" ? 0 : 10);
    const created = await as(alice)("POST", "/api/images", {
      name: "porty",
      image: testImages.httpd,
      desired_instances: 1,
      max_instances: 1,
      cpu_limit: "0.2",
      memory_limit: "16m",
      ports: [{ container: 8080, host: port }],
      health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", retries: 3 },
      // One fixed port, one instance: the new one starts once the old one stopped.
      rollout: { max_surge: 0, max_unavailable: 1, min_ready: "20s", progress_deadline: "5m" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    const image = async () => (await as(alice)("GET", `/api/images/${imageId}`)).body;
    await waitFor(image, (body) => conditionOf(body, "Ready")?.status === "True", {
      what: "revision 1 Ready",
      timeoutMs: 120_000,
    });

    // Revision 2 lets the port go (a dynamic one) and fails its health check after a while;
    // meanwhile another tenant asks for the port it freed.
    const patched = await as(alice)("PATCH", `/api/images/${imageId}`, {
      ports: [{ container: 8080 }],
      command: servesThenFails,
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const squatter = await as(bob)("POST", "/api/images", {
      name: "squatter",
      image: testImages.httpd,
      desired_instances: 0,
      max_instances: 1,
      ports: [{ container: 8080, host: port }],
    });
    expect(squatter.status, JSON.stringify(squatter.body)).toBe(201);

    const failed = await waitFor(
      image,
      (body) => ["RolloutFailed", "RolledBack"].includes(conditionOf(body, "Progressing")?.reason),
      { what: "revision 2's rollout over", timeoutMs: 180_000 },
    );
    expect(conditionOf(failed, "Progressing").reason).toBe("RolloutFailed");
    expect(failed.generation).toBe(patched.body.generation);
    expect(failed.ports).toEqual([{ container: 8080, protocol: "tcp" }]);
    const revisions = (await as(alice)("GET", `/api/images/${imageId}/revisions`)).body.items;
    expect(revisions.map((revision: { revision: number }) => revision.revision)).toEqual([2, 1]);
    // The port is still the other tenant's alone: its image keeps it through a change.
    const kept = await as(bob)("PATCH", `/api/images/${squatter.body.id}`, {
      desired_instances: 1,
    });
    expect(kept.status, JSON.stringify(kept.body)).toBe(200);
    expect(kept.body.ports).toEqual([{ container: 8080, protocol: "tcp", host: port }]);
    for (const [token, id] of [
      [alice, imageId],
      [bob, squatter.body.id],
    ] as const) {
      expect((await as(token)("DELETE", `/api/images/${id}`)).status).toBe(202);
    }
    for (const [token, id] of [
      [alice, imageId],
      [bob, squatter.body.id],
    ] as const) {
      await waitFor(
        async () => (await as(token)("GET", `/api/images/${id}`)).status,
        (status) => status === 404,
        { what: `image ${id} gone`, timeoutMs: 60_000 },
      );
    }
  }, 420_000);
});
