/**
 * Bounded input: every body but an upload's is limited (413 before it is held), uploads at once
 * are capped, writes are rate-limited per token, and the NUL character is refused wherever input
 * comes in (JSON, query strings, multipart fields, desired-state documents).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDocuments } from "../../src/gitops/load.ts";
import { archiveOf, startBuildServer, uploadImage, webApp } from "../builds/build-support.ts";
import { streamBody } from "../support/raw-http.ts";
import { type SpawnedServer, spawnServer } from "../support/spawn-server.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const MiB = 1024 * 1024;

/** Resident memory of a process: now, and the most it ever had (VmHWM), in bytes. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

describe("a 300 MB body to the service process", () => {
  const adminToken = `admin-${randomBytes(12).toString("hex")}`;
  let dataDir: string;
  let server: SpawnedServer;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "orch-body-"));
    server = await spawnServer({
      DATA_DIR: dataDir,
      ORCHESTRATOR_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: "warn",
    });
  });
  afterAll(async () => {
    server?.kill("SIGTERM");
    await server?.exited;
    await rm(dataDir, { recursive: true, force: true });
  });

  const applyBody = (totalBytes: number, declaredLength?: number) =>
    streamBody(server.url, {
      method: "POST",
      path: "/api/apply",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      head: '{"set":"huge","documents":[{"name":"x","image":"busybox","env":{"A":"',
      filler: Buffer.alloc(256 * 1024, "a"),
      tail: '"}}]}',
      totalBytes,
      ...(declaredLength === undefined ? {} : { declaredLength }),
    });

  it("is refused with 413 before it is held, and the process's memory stays flat", async () => {
    // Warm up: the first requests grow the heap for reasons of their own.
    for (let index = 0; index < 3; index++) expect((await applyBody(64 * 1024)).status).toBe(422);
    const before = await memoryOf(server.child.pid ?? 0);

    const declared = await applyBody(300 * MiB, 300 * MiB);
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({ code: "payload_too_large", max_bytes: MiB });
    expect(declared.sentWhenAnswered).toBeLessThan(8 * MiB);

    const chunked = await applyBody(300 * MiB);
    expect(chunked.status).toBe(413);
    expect(chunked.sentWhenAnswered).toBeLessThan(32 * MiB);

    const after = await memoryOf(server.child.pid ?? 0);
    // Before the limit, a 300 MB body took the process from 580 to 1410 MiB (issue 12).
    expect(after.peak - before.peak).toBeLessThan(48 * MiB);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("limits on bodies, uploads and NUL", () => {
  let server: TestServer;
  let alice: string;
  let imageId: number;
  beforeAll(async () => {
    server = await startBuildServer({
      env: { BODY_MAX_BYTES: "4096", UPLOAD_MAX_CONCURRENT: "1" },
    });
    alice = await server.createUser("alice");
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: { name: "web", image: testImages.httpd, desired_instances: 0 },
    });
    imageId = created.body.id;
  });
  afterAll(() => server?.stop());

  /** The image's desired state (the controller writes its status meanwhile). */
  const image = async () => {
    const { env, desired_instances, generation, resource_version } = (
      await server.request("GET", `/api/images/${imageId}`)
    ).body;
    return { env, desired_instances, generation, resource_version };
  };

  it("refuses JSON and text bodies past BODY_MAX_BYTES, and lets uploads through", async () => {
    const before = await image();
    const big = await server.request("PATCH", `/api/images/${imageId}`, {
      token: alice,
      body: { env: { A: "x".repeat(5000) } },
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: "payload_too_large", max_bytes: 4096 });
    const text = await fetch(`${server.url}/api/containers/${imageId}`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice}`, "content-type": "text/plain" },
      body: " ".repeat(5000),
    });
    expect(text.status).toBe(413);
    const chunked = await streamBody(server.url, {
      method: "PATCH",
      path: `/api/images/${imageId}`,
      headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
      head: '{"env":{"A":"',
      filler: Buffer.alloc(1024, "a"),
      tail: '"}}',
      totalBytes: 64 * 1024,
    });
    expect(chunked.status).toBe(413);
    expect(await image()).toEqual(before);

    const archive = await archiveOf("tar", [
      ...webApp("hi"),
      { name: "pad.txt", content: "p".repeat(20_000) },
    ]);
    expect(archive.length).toBeGreaterThan(4096);
    const upload = await uploadImage(
      server,
      { name: "uploaded", desired_instances: "0" },
      archive,
      {
        token: alice,
        filename: "app.tar",
      },
    );
    expect(upload.status, JSON.stringify(upload.body)).toBe(202);
  });

  it("answers 429 with Retry-After to an upload while UPLOAD_MAX_CONCURRENT are received", async () => {
    let second: Promise<Awaited<ReturnType<typeof uploadImage>>> | undefined;
    const boundary = `----cap${randomBytes(4).toString("hex")}`;
    const first = streamBody(server.url, {
      method: "POST",
      path: "/api/images",
      headers: {
        authorization: `Bearer ${alice}`,
        "content-type": `multipart/form-data; boundary=${boundary}`,
      },
      head: `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nslow\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.tar"\r\nContent-Type: application/x-tar\r\n\r\n`,
      tail: `\r\n--${boundary}--\r\n`,
      totalBytes: 300 * MiB,
      onSent: (bytes) => {
        if (bytes > 2 * MiB && second === undefined) {
          second = uploadImage(server, { name: "second" }, Buffer.from("x"), { token: alice });
        }
      },
    });
    // The first upload goes on while the second is refused; its own answer ends it.
    const refused = await new Promise<Awaited<ReturnType<typeof uploadImage>>>(
      (resolve, reject) => {
        const poll = setInterval(() => {
          if (second === undefined) return;
          clearInterval(poll);
          second.then(resolve, reject);
        }, 20);
      },
    );
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("too_many_uploads");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await first).status).toBe(413);
    const later = await uploadImage(
      server,
      { name: "later", desired_instances: "0" },
      await archiveOf("tar", webApp("x")),
      {
        token: alice,
        filename: "app.tar",
      },
    );
    expect(later.status).toBe(202);
  });

  it("refuses the NUL character in JSON bodies, query strings, multipart fields and documents", async () => {
    const before = await image();
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      token: alice,
      body: { env: { A: "x\u0000y", "B\u0000": "ok" } },
    });
    expect(patched.status).toBe(422);
    expect(patched.body.errors).toEqual([
      { path: "env.A", message: "must not contain the NUL character (\\u0000)" },
      { path: "env.B\u0000", message: "the name must not contain the NUL character (\\u0000)" },
    ]);
    const query = await server.request("GET", "/api/images?user=al%00ice", { token: alice });
    expect(query.status).toBe(422);
    expect(query.body.errors).toEqual([{ path: "user", message: expect.stringMatching(/NUL/) }]);
    expect(
      (await server.request("GET", `/api/images/${imageId}?x=%00`, { token: alice })).status,
    ).toBe(422);
    const form = await uploadImage(
      server,
      { name: "ok", tag: "v\u00001" },
      await archiveOf("tar", webApp("x")),
      {
        token: alice,
        filename: "app.tar",
      },
    );
    expect(form.status).toBe(422);
    expect(form.body.errors).toEqual([{ path: "tag", message: expect.stringMatching(/NUL/) }]);
    const applied = await server.request("POST", "/api/apply", {
      token: alice,
      body: {
        set: "nul",
        documents: [{ name: "doc", image: testImages.httpd, env: { A: "\u0000" } }],
      },
    });
    expect(applied.status).toBe(422);
    expect(applied.body.errors).toEqual([
      { path: "documents[0].env.A", message: expect.stringMatching(/NUL/) },
    ]);
    expect(await image()).toEqual(before);
    const names = (await server.request("GET", "/api/images", { token: alice })).body.items.map(
      (listed: { name: string }) => listed.name,
    );
    expect(names).not.toContain("ok");
    expect(names).not.toContain("doc");
  });

  it("points at the NUL in a desired-state file, and applies nothing", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "orch-nul-"));
    try {
      const file = path.join(dir, "web.yaml");
      await writeFile(
        file,
        `apiVersion: orchestrator/v1\nkind: Image\nmetadata:\n  name: web\nspec:\n  image: ${testImages.httpd}\n  env:\n    A: "x\\0y"\n`,
      );
      const loaded = await loadDocuments([file]);
      expect(loaded.documents).toEqual([]);
      expect(loaded.errors).toEqual([
        expect.objectContaining({
          line: 8,
          column: 8,
          path: "spec.env.A",
          message: expect.stringMatching(/NUL/),
        }),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("write rate limits", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { RATE_LIMIT_WRITES_PER_MINUTE: "3" } });
  });
  afterAll(() => server?.stop());

  it("answer 429 with Retry-After past a token's writes per minute, leaving reads, other tokens and the admin token alone", async () => {
    const alice = await server.createUser("alice");
    const bob = await server.createUser("bob");
    const create = (token: string, name: string) =>
      server.request("POST", "/api/images", {
        token,
        body: { name, image: testImages.httpd, desired_instances: 0 },
      });
    const statuses = [];
    for (const name of ["a1", "a2", "a3", "a4"]) statuses.push((await create(alice, name)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const limited = await create(alice, "a5");
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("rate_limited");
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await server.request("GET", "/api/images", { token: alice })).body.items).toHaveLength(
      3,
    );
    expect((await create(bob, "b1")).status).toBe(201);
    for (const name of ["o1", "o2", "o3", "o4"]) {
      expect((await create(server.adminToken, name)).status).toBe(201);
    }
  });
});
