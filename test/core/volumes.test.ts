/**
 * Volumes on the real engine: a tenant's named volume keeps its files across a replacement, two
 * tenants naming a volume alike get different Docker volumes, read-only mounts refuse writes,
 * GET /api/volumes shows sizes and users, removal only when asked (DELETE /api/volumes/{name},
 * DELETE /api/images/{id}?volumes=true) and never while used, and host folders for the admin
 * only, only under BIND_MOUNT_ALLOWLIST.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, execIn } from "../support/docker-helpers.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/** What `docker volume inspect` says, or 404. */
async function inspectVolume(name: string) {
  try {
    return { status: 200, volume: await docker.getVolume(name).inspect() };
  } catch (error) {
    return { status: (error as { statusCode?: number }).statusCode ?? 0, volume: undefined };
  }
}

describe.skipIf(!hasDocker())("volumes on the engine", () => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  let aliceId: string;
  let bobId: string;
  /** Host folders: one the admin may mount (BIND_MOUNT_ALLOWLIST), one beside it it may not. */
  let hostRoot: string;
  let allowed: string;

  const as = (token: string, method: string, urlPath: string, body?: unknown) =>
    server.request(method, urlPath, { token, ...(body === undefined ? {} : { body }) });

  const instancesOf = async (token: string, imageId: number) =>
    (await as(token, "GET", `/api/containers?image_id=${imageId}`)).body.items as any[];

  /** The image's one instance once it runs in a container other than `notContainer`. */
  const runningOne = (token: string, imageId: number, notContainer?: string) =>
    waitFor(
      () => instancesOf(token, imageId),
      (items) =>
        items.length === 1 &&
        items[0].observed_state === "running" &&
        items[0].container_id !== null &&
        items[0].container_id !== notContainer,
      { what: `the instance of image ${imageId} running`, timeoutMs: 60_000 },
    ).then((items) => items[0]);

  const create = async (token: string, body: Record<string, unknown>) => {
    const created = await as(token, "POST", "/api/images", {
      image: testImages.httpd,
      desired_instances: 1,
      ...body,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: number; name: string };
  };

  const dockerName = (userId: string, name: string) =>
    `${server.orchestratorId}-u${userId}-${name}`;

  beforeAll(async () => {
    hostRoot = await mkdtemp(path.join(tmpdir(), "orch-volumes-"));
    allowed = path.join(hostRoot, "allowed");
    await mkdir(path.join(allowed, "www"), { recursive: true });
    await writeFile(path.join(allowed, "www", "hello.txt"), "from the host\n");
    server = await startTestServer({
      env: { PUBLISH_IP: "127.0.0.1", BIND_MOUNT_ALLOWLIST: `${allowed}/` },
    });
    alice = await server.createUser("alice");
    bob = await server.createUser("bob");
    aliceId = (await as(alice, "GET", "/api/whoami")).body.user_id;
    bobId = (await as(bob, "GET", "/api/whoami")).body.user_id;
  });

  afterAll(async () => {
    await server?.stop();
    if (hostRoot !== undefined) await rm(hostRoot, { recursive: true, force: true });
  });

  it("keeps a volume's files across a replacement, in a volume labelled as the tenant's", async () => {
    const image = await create(alice, {
      name: "keeper",
      volumes: [{ type: "volume", source: "data", target: "/data" }],
    });
    const first = await runningOne(alice, image.id);
    expect(
      (await execIn(first.container_id, ["sh", "-c", "echo alice-was-here > /data/note"])).exitCode,
    ).toBe(0);
    const inspected = await docker.getContainer(first.container_id).inspect();
    expect(inspected.Mounts).toEqual([
      expect.objectContaining({
        Type: "volume",
        Name: dockerName(aliceId, "data"),
        Destination: "/data",
        RW: true,
      }),
    ]);
    const { volume } = await inspectVolume(dockerName(aliceId, "data"));
    expect(volume?.Labels).toEqual({
      [labelKeys.managedBy]: server.orchestratorId,
      [labelKeys.owner]: aliceId,
      [labelKeys.volume]: "data",
    });

    // A change of the spec replaces the container; the volume stays with its file.
    const patched = await as(alice, "PATCH", `/api/images/${image.id}`, {
      labels: { release: "2" },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const second = await runningOne(alice, image.id, first.container_id);
    await expect(docker.getContainer(first.container_id).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
    expect(await execIn(second.container_id, ["cat", "/data/note"])).toEqual({
      exitCode: 0,
      output: "alice-was-here\n",
    });
  });

  it("gives two tenants' volumes of one name different Docker volumes, neither seeing the other's files", async () => {
    const image = await create(bob, {
      name: "bobs",
      volumes: [{ type: "volume", source: "data", target: "/data" }],
    });
    const instance = await runningOne(bob, image.id);
    const mounts = (await docker.getContainer(instance.container_id).inspect()).Mounts;
    expect(mounts.map((mount) => mount.Name)).toEqual([dockerName(bobId, "data")]);
    expect(dockerName(bobId, "data")).not.toBe(dockerName(aliceId, "data"));
    const seen = await execIn(instance.container_id, ["ls", "-A", "/data"]);
    expect(seen).toEqual({ exitCode: 0, output: "" });
    await execIn(instance.container_id, ["sh", "-c", "echo bob > /data/note"]);

    const [alices] = (await as(alice, "GET", "/api/images")).body.items.filter(
      (item: any) => item.name === "keeper",
    );
    const aliceInstance = await runningOne(alice, alices.id);
    expect((await execIn(aliceInstance.container_id, ["cat", "/data/note"])).output).toBe(
      "alice-was-here\n",
    );

    // Each lists only their own volume, under the name they gave it.
    const bobs = (await as(bob, "GET", "/api/volumes")).body.items;
    expect(bobs).toEqual([
      expect.objectContaining({ name: "data", user_id: bobId, used_by: ["bobs"] }),
    ]);
    expect(JSON.stringify(bobs)).not.toContain("keeper");
    // And may not remove the other's: bob has no volume named like alice's other ones.
    await create(alice, {
      name: "cached",
      desired_instances: 0,
      volumes: [{ type: "volume", source: "cache", target: "/cache" }],
    });
    expect((await as(bob, "DELETE", "/api/volumes/cache")).status).toBe(404);
  });

  it("refuses writes through a read-only mount", async () => {
    const image = await create(alice, {
      name: "reader",
      volumes: [{ type: "volume", source: "data", target: "/ro", read_only: true }],
    });
    const instance = await runningOne(alice, image.id);
    expect((await execIn(instance.container_id, ["cat", "/ro/note"])).output).toBe(
      "alice-was-here\n",
    );
    expect(await execIn(instance.container_id, ["touch", "/ro/other"])).toMatchObject({
      exitCode: 1,
      output: expect.stringContaining("Read-only file system"),
    });
  });

  it("lists a tenant's volumes with their size and the images that mount them; the admin sees all", async () => {
    const [keeper] = (await as(alice, "GET", "/api/images")).body.items.filter(
      (item: any) => item.name === "keeper",
    );
    const instance = await runningOne(alice, keeper.id);
    await execIn(instance.container_id, [
      "dd",
      "if=/dev/zero",
      "of=/data/blob",
      "bs=1024",
      "count=1024",
    ]);
    const listed = await waitFor(
      async () => (await as(alice, "GET", "/api/volumes")).body.items as any[],
      (items) => (items.find((item) => item.name === "data")?.size_bytes ?? 0) >= 1024 * 1024,
      { what: "the volume's size", timeoutMs: 30_000 },
    );
    const data = listed.find((item) => item.name === "data");
    expect(data).toMatchObject({
      user_id: aliceId,
      docker_name: dockerName(aliceId, "data"),
      used_by: ["keeper", "reader"],
    });
    expect(Date.parse(data.created_at)).not.toBeNaN();
    expect(listed.map((item) => item.name)).not.toContain("cache");

    const everyone = (await server.request("GET", "/api/volumes")).body.items as any[];
    expect(everyone.map((item) => `${item.user_id}/${item.name}`)).toEqual(
      expect.arrayContaining([`${aliceId}/data`, `${bobId}/data`]),
    );
    const bobsOnly = (await server.request("GET", "/api/volumes?user=bob")).body.items as any[];
    expect(bobsOnly.map((item) => item.user_id)).toEqual([bobId]);
    // A tenant may not list another's.
    expect((await as(bob, "GET", "/api/volumes?user=alice")).status).toBe(403);
  });

  it("removes a volume only when no instance uses it", async () => {
    const image = await create(alice, {
      name: "scratchpad",
      min_instances: 0,
      volumes: [{ type: "volume", source: "scratch", target: "/scratch" }],
    });
    await runningOne(alice, image.id);
    const refused = await as(alice, "DELETE", "/api/volumes/scratch");
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(refused.body).toMatchObject({ code: "volume_in_use", used_by: ["scratchpad"] });
    expect((await inspectVolume(dockerName(aliceId, "scratch"))).status).toBe(200);

    expect(
      (await as(alice, "PATCH", `/api/images/${image.id}`, { desired_instances: 0 })).status,
    ).toBe(200);
    await waitFor(
      () => instancesOf(alice, image.id),
      (items) => items.length === 0,
      { what: "the instance removed", timeoutMs: 60_000 },
    );
    expect((await as(alice, "DELETE", "/api/volumes/scratch")).status).toBe(204);
    expect((await inspectVolume(dockerName(aliceId, "scratch"))).status).toBe(404);
    expect((await as(alice, "DELETE", "/api/volumes/scratch")).status).toBe(404);
    const audit = (await server.request("GET", "/api/audit?user=alice")).body.items as any[];
    expect(audit.map((entry) => entry.action)).toContain("volume.delete");
  });

  it("removes an image's volumes with it only when asked, keeping those another image mounts", async () => {
    const kept = await create(alice, {
      name: "kept",
      volumes: [{ type: "volume", source: "kept-data", target: "/data" }],
    });
    const doomed = await create(alice, {
      name: "doomed",
      volumes: [
        { type: "volume", source: "doomed-data", target: "/data" },
        { type: "volume", source: "data", target: "/shared" },
      ],
    });
    await runningOne(alice, kept.id);
    await runningOne(alice, doomed.id);

    expect((await as(alice, "DELETE", `/api/images/${kept.id}`)).status).toBe(202);
    expect((await as(alice, "DELETE", `/api/images/${doomed.id}?volumes=true`)).status).toBe(202);
    for (const id of [kept.id, doomed.id]) {
      await waitFor(
        async () => (await as(alice, "GET", `/api/images/${id}`)).status,
        (status) => status === 404,
        { what: `image ${id} deleted`, timeoutMs: 60_000 },
      );
    }
    expect((await inspectVolume(dockerName(aliceId, "doomed-data"))).status).toBe(404);
    // Deleted without ?volumes=true: kept. Named by keeper and reader too: kept.
    expect((await inspectVolume(dockerName(aliceId, "kept-data"))).status).toBe(200);
    expect((await inspectVolume(dockerName(aliceId, "data"))).status).toBe(200);
    const bad = await as(alice, "DELETE", `/api/images/${kept.id}?volumes=maybe`);
    expect(bad.status).toBe(422);
  });

  it("mounts host folders for the admin only, only under BIND_MOUNT_ALLOWLIST", async () => {
    const bind = (source: string, extra: Record<string, unknown> = {}) => ({
      name: "host-files",
      image: testImages.httpd,
      desired_instances: 1,
      volumes: [{ type: "bind", source, target: "/www/host", ...extra }],
    });
    const tenant = await as(alice, "POST", "/api/images", bind(path.join(allowed, "www")));
    expect(tenant.status).toBe(403);
    expect(tenant.body).toMatchObject({ code: "forbidden" });
    expect(tenant.body.errors[0].path).toBe("volumes[0].type");

    for (const outside of ["/etc", path.join(allowed, "..", "..", "etc"), `${allowed}-other`]) {
      const refused = await server.request("POST", "/api/images", { body: bind(outside) });
      expect(refused.status, outside).toBe(403);
      expect(refused.body.code).toBe("forbidden");
      expect(refused.body.errors).toEqual([
        { path: "volumes[0].source", message: expect.stringContaining("BIND_MOUNT_ALLOWLIST") },
      ]);
    }
    expect((await server.request("GET", "/api/images")).body.items).not.toContainEqual(
      expect.objectContaining({ name: "host-files" }),
    );

    const created = await server.request("POST", "/api/images", {
      body: bind(path.join(allowed, "www", "..", "www"), { read_only: true }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.volumes).toEqual([
      { type: "bind", source: path.join(allowed, "www"), target: "/www/host", read_only: true },
    ]);
    const instance = await runningOne(server.adminToken, created.body.id);
    expect(await execIn(instance.container_id, ["cat", "/www/host/hello.txt"])).toEqual({
      exitCode: 0,
      output: "from the host\n",
    });
    expect((await execIn(instance.container_id, ["touch", "/www/host/x"])).exitCode).toBe(1);
    expect(await readFile(path.join(allowed, "www", "hello.txt"), "utf8")).toBe("from the host\n");
    const [mount] = (await docker.getContainer(instance.container_id).inspect()).Mounts;
    expect(mount).toMatchObject({ Type: "bind", Source: path.join(allowed, "www"), RW: false });
  });
});
