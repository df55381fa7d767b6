/**
 * Two tenants on one real engine, written as the attacks: bob tries to run alice's private
 * build, to build FROM it however the Dockerfile spells it, to read her build cache, to forge
 * her events with Dockerfile LABELs, and to reach her instances over the network. Also: what a
 * tenant's container may do (hardening, checked with docker inspect).
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tenantCapabilities } from "../../src/docker/create-container.ts";
import { labelKeys } from "../../src/domain/labels.ts";
import {
  type AppFile,
  archiveOf,
  builtTag,
  startBuildServer,
  webApp,
} from "../builds/build-support.ts";
import { testBaseImage } from "../support/base-image.ts";
import { docker, execIn, httpGet } from "../support/docker-helpers.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

type Tenant = { readonly name: string; readonly token: string; readonly userId: number };

describe.skipIf(!hasDocker())("tenants on one engine", () => {
  let server: TestServer;
  let alice: Tenant;
  let bob: Tenant;
  let aliceImage: { id: number; dockerImageId: string; tag: string };
  const nonce = randomBytes(4).toString("hex");
  const privateLocal = () => `${server.orchestratorId}-operator-private:1`;
  const foreignContainers: string[] = [];

  const as = (tenant: Tenant, method: string, path: string, body?: unknown) =>
    server.request(method, path, { token: tenant.token, ...(body === undefined ? {} : { body }) });

  /** Uploads a source (its files) as `tenant`, with no instance to run yet. */
  async function uploadFiles(
    tenant: Tenant,
    name: string,
    files: readonly AppFile[],
    build?: unknown,
  ) {
    const form = new FormData();
    form.append("name", name);
    if (build !== undefined) form.append("build", JSON.stringify(build));
    form.append("desired_instances", "0");
    form.append("min_instances", "0");
    const archive = await archiveOf("tar.gz", files);
    form.append("file", new Blob([new Uint8Array(archive)]), "app.tgz");
    const response = await fetch(`${server.url}/api/images`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.token}` },
      body: form,
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: number }).id;
  }

  /** The test web app, with `steps` before its CMD, answering `body`. */
  const upload = (tenant: Tenant, name: string, steps: string, body = name) =>
    uploadFiles(tenant, name, webApp(`${body}\n`, steps));

  /** A source whose Dockerfile is exactly `dockerfile`. */
  const uploadDockerfile = (tenant: Tenant, name: string, dockerfile: string) =>
    uploadFiles(tenant, name, [{ name: "Dockerfile", content: dockerfile }]);

  async function buildEnd(tenant: Tenant, imageId: number) {
    return waitFor(
      async () => (await as(tenant, "GET", `/api/images/${imageId}`)).body,
      (image) => image.status === "ready" || image.status === "build_failed",
      { what: `image ${imageId} built or failed`, timeoutMs: 90_000 },
    );
  }

  async function tenant(name: string): Promise<Tenant> {
    const token = await server.createUser(name);
    const whoami = await server.request("GET", "/api/whoami", { token });
    return { name, token, userId: Number(whoami.body.user_id) };
  }

  beforeAll(async () => {
    server = await startBuildServer();
    alice = await tenant("alice");
    bob = await tenant("bob");
    const id = await upload(
      alice,
      "secret-app",
      `RUN --mount=type=cache,target=/cache echo alice-cache-${nonce} > /cache/s\n`,
      `alice-secret-${nonce}`,
    );
    const built = await buildEnd(alice, id);
    expect(built.status, built.build_logs).toBe("ready");
    aliceImage = {
      id,
      dockerImageId: built.docker_image_id,
      tag: await builtTag(server, id, "latest", alice.userId),
    };
    // An image the operator has locally and has not allowed tenants to use.
    await docker.getImage(testImages.httpd).tag({
      repo: `${server.orchestratorId}-operator-private`,
      tag: "1",
    });
  });

  afterAll(async () => {
    for (const id of foreignContainers)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => {});
    await docker
      .getImage(privateLocal())
      .remove({ force: true })
      .catch(() => {});
    await server?.stop();
  });

  it("names builds with a token nobody else knows, labelled with their owner", async () => {
    expect(aliceImage.tag).toMatch(
      new RegExp(
        `^${server.orchestratorId}-u${alice.userId}-i${aliceImage.id}-[0-9a-f]{32}:latest$`,
      ),
    );
    const labels = (await docker.getImage(aliceImage.tag).inspect()).Config.Labels;
    expect(labels).toMatchObject({
      [labelKeys.managedBy]: server.orchestratorId,
      [labelKeys.imageId]: String(aliceImage.id),
      [labelKeys.owner]: String(alice.userId),
    });
  });

  it("refuses bob's references to alice's build: its tag, the guessable form, its id", async () => {
    const legacy = `${server.orchestratorId}-u${alice.userId}-i${aliceImage.id}:latest`;
    for (const image of [aliceImage.tag, legacy, `docker.io/library/${aliceImage.tag}`]) {
      const refused = await as(bob, "POST", "/api/images", { name: "steal", image });
      expect(refused.status, image).toBe(404);
      expect(refused.body.code).toBe("image_not_found");
    }
    const byId = await as(bob, "POST", "/api/images", {
      name: "steal",
      image: aliceImage.dockerImageId,
    });
    expect(byId.status).toBe(403);
    expect(byId.body.code).toBe("image_not_allowed");
    // Nor by PATCH of an image bob has, nor by apply.
    const own = await as(bob, "POST", "/api/images", {
      name: "bobs",
      image: testImages.httpd,
      desired_instances: 0,
    });
    expect(own.status).toBe(201);
    expect(
      (await as(bob, "PATCH", `/api/images/${own.body.id}`, { image: aliceImage.tag })).status,
    ).toBe(404);
    const applied = await as(bob, "POST", "/api/apply", {
      set: "steal",
      documents: [{ name: "via-apply", image: aliceImage.tag }],
    });
    expect(applied.status).toBe(404);
    expect(
      (await as(bob, "GET", "/api/images")).body.items.map((image: any) => image.name),
    ).toEqual(["bobs"]);
    // Alice may run her own build by its tag.
    const hers = await as(alice, "POST", "/api/images", {
      name: "own-build",
      image: aliceImage.tag,
      desired_instances: 1,
    });
    expect(hers.status).toBe(201);
    const instance = await waitFor(
      async () => (await as(alice, "GET", `/api/images/${hers.body.id}/containers`)).body.items[0],
      (item) => item?.observed_state === "running" && item.host_port !== null,
      { what: "alice's own build running" },
    );
    expect(await httpGet(instance.host_port)).toEqual({
      status: 200,
      body: `alice-secret-${nonce}\n`,
    });
  });

  it("never runs alice's build for bob under a short id, nor a local image the admin did not allow", async () => {
    const shortId = aliceImage.dockerImageId.replace(/^sha256:/, "").slice(0, 12);
    const cases = [
      { name: "short-id", image: shortId },
      { name: "operator-private", image: privateLocal() },
    ];
    for (const { name, image } of cases) {
      const created = await as(bob, "POST", "/api/images", { name, image, desired_instances: 1 });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const degraded = await waitFor(
        async () =>
          (await as(bob, "GET", `/api/images/${created.body.id}`)).body.conditions.find(
            (condition: any) => condition.type === "Degraded",
          ),
        (condition) => condition?.status === "True",
        { what: `${name} degraded` },
      );
      expect(["ImagePullFailed", "ImageNotAllowed"]).toContain(degraded.reason);
      const containers = await docker.listContainers({
        all: true,
        filters: {
          label: [
            `${labelKeys.managedBy}=${server.orchestratorId}`,
            `${labelKeys.imageId}=${created.body.id}`,
          ],
        },
      });
      expect(containers).toEqual([]);
    }
    // The admin may run what the engine has.
    const admin = await server.request("POST", "/api/images", {
      body: { name: "admin-private", image: privateLocal(), desired_instances: 1 },
    });
    expect(admin.status).toBe(201);
    await waitFor(
      async () =>
        (await server.request("GET", `/api/images/${admin.body.id}/containers`)).body.items[0],
      (item) => item?.observed_state === "running",
      { what: "the admin's local image running" },
    );
  });

  it("refuses bob's builds FROM alice's build however the Dockerfile spells it", async () => {
    const attempts = {
      "build-from-tag": `FROM ${aliceImage.tag}\n`,
      "build-from-arg": `ARG BASE=${testBaseImage}\nFROM \${BASE}\n`.replace(
        testBaseImage,
        aliceImage.tag,
      ),
      "build-from-id": `FROM ${aliceImage.dockerImageId}\n`,
      "build-from-short-id": `FROM ${aliceImage.dockerImageId.replace(/^sha256:/, "").slice(0, 12)}\n`,
      "build-copy-from": `FROM ${testBaseImage}\nCOPY --from=${aliceImage.tag} /www /stolen\n`,
      "build-mount-from": `FROM ${testBaseImage}\nRUN --mount=type=bind,from=${aliceImage.tag},target=/a cat /a/www/index.html\n`,
      "build-operator-private": `FROM ${privateLocal()}\n`,
      "build-syntax": `# syntax=${testBaseImage}\nFROM ${testBaseImage}\n`,
    };
    for (const [name, dockerfile] of Object.entries(attempts)) {
      const id = await uploadDockerfile(bob, name, `${dockerfile}CMD ["true"]\n`);
      const end = await buildEnd(bob, id);
      expect(end.status, `${name}: ${end.build_logs}`).toBe("build_failed");
      expect(end.build_logs).not.toContain(`alice-secret-${nonce}`);
    }
    // The spec's build args reach FROM too: the preflight substitutes them as BuildKit does.
    const fromSpecArg = await uploadFiles(
      bob,
      "build-from-spec-arg",
      [{ name: "Dockerfile", content: `ARG BASE=${testBaseImage}\nFROM \${BASE}\nCMD ["true"]\n` }],
      { args: { BASE: aliceImage.tag } },
    );
    const end = await buildEnd(bob, fromSpecArg);
    expect(end.status, end.build_logs).toBe("build_failed");
    expect(end.build_logs).toContain(`Dockerfile line 2: image ${aliceImage.tag} not found`);
    expect(end.build_logs).not.toContain(`alice-secret-${nonce}`);
  });

  it("keeps bob out of alice's build cache", async () => {
    const id = await upload(
      bob,
      "cache-thief",
      `RUN --mount=type=cache,target=/cache echo ${randomBytes(4).toString("hex")}; cat /cache/s || echo nothing-of-alice\n`,
    );
    const end = await buildEnd(bob, id);
    expect(end.status, end.build_logs).toBe("ready");
    expect(end.build_logs).toContain("nothing-of-alice");
    expect(end.build_logs).not.toContain(`alice-cache-${nonce}`);
  });

  it("lets no LABEL forge anything: bob's build stays his, foreign containers are left alone", async () => {
    const forged = [
      `${labelKeys.managedBy}=${server.orchestratorId}`,
      `${labelKeys.imageId}=${aliceImage.id}`,
      `${labelKeys.owner}=${alice.userId}`,
      `${labelKeys.instanceId}=forged0001`,
    ].join(" ");
    const id = await upload(bob, "forger", `LABEL ${forged}\n`);
    const end = await buildEnd(bob, id);
    expect(end.status, end.build_logs).toBe("ready");
    const labels = (
      await docker.getImage(await builtTag(server, id, "latest", bob.userId)).inspect()
    ).Config.Labels;
    expect(labels).toMatchObject({
      [labelKeys.imageId]: String(id),
      [labelKeys.owner]: String(bob.userId),
    });

    // What the classic builder did with such a LABEL: a step container carrying alice's labels.
    const eventsBefore = (await as(alice, "GET", "/api/events?limit=1000")).body.items.length;
    const step = await docker.createContainer({
      Image: testBaseImage,
      Cmd: ["sleep", "300"],
      Labels: {
        [labelKeys.managedBy]: server.orchestratorId,
        [labelKeys.imageId]: String(aliceImage.id),
        [labelKeys.owner]: String(alice.userId),
        [labelKeys.instanceId]: "forged0002",
      },
    });
    foreignContainers.push(step.id);
    await step.start();
    // Make the controller look at alice's image: scale her running image up and wait for it.
    const hers = (await as(alice, "GET", "/api/images")).body.items.find(
      (image: any) => image.name === "own-build",
    );
    expect(
      (await as(alice, "PATCH", `/api/images/${hers.id}`, { desired_instances: 2 })).status,
    ).toBe(200);
    await waitFor(
      async () => (await as(alice, "GET", `/api/images/${hers.id}/containers`)).body.items,
      (items) =>
        items.length === 2 && items.every((item: any) => item.observed_state === "running"),
      { what: "alice's image at 2" },
    );
    await server.service.controller.current()?.idle();
    expect((await step.inspect()).State.Running).toBe(true);
    const events = (await as(alice, "GET", "/api/events?limit=1000")).body.items.slice(
      eventsBefore,
    );
    expect(events.some((event: any) => JSON.stringify(event).includes(step.id))).toBe(false);
  });

  it("hardens tenants' containers and keeps each tenant on its own network", async () => {
    const aliceOwn = (await as(alice, "GET", "/api/images")).body.items.find(
      (image: any) => image.name === "own-build",
    );
    const aliceInstances = (await as(alice, "GET", `/api/images/${aliceOwn.id}/containers`)).body
      .items;
    const bobs = await as(bob, "POST", "/api/images", {
      name: "bob-web",
      image: testImages.httpd,
      desired_instances: 1,
    });
    const bobInstance = await waitFor(
      async () => (await as(bob, "GET", `/api/images/${bobs.body.id}/containers`)).body.items[0],
      (item) => item?.observed_state === "running",
      { what: "bob's instance running" },
    );

    const info = await docker.getContainer(aliceInstances[0].container_id).inspect();
    const host = info.HostConfig as any;
    expect(host.CapDrop).toEqual(["ALL"]);
    expect([...host.CapAdd].sort()).toEqual([...tenantCapabilities].sort());
    expect(host.SecurityOpt).toContain("no-new-privileges:true");
    expect(host.Privileged).toBe(false);
    expect(host.PidsLimit).toBe(512);
    expect(host.Memory).toBeGreaterThan(0);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.Ulimits).toEqual(
      expect.arrayContaining([{ Name: "nofile", Soft: 4096, Hard: 4096 }]),
    );
    expect(host.Binds ?? []).toEqual([]);
    expect(host.Devices ?? []).toEqual([]);
    expect(host.PidMode ?? "").toBe("");
    expect(host.NetworkMode).toBe(`${server.orchestratorId}-u${alice.userId}`);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([
      `${server.orchestratorId}-u${alice.userId}`,
    ]);

    const ipOf = async (containerId: string) =>
      Object.values((await docker.getContainer(containerId).inspect()).NetworkSettings.Networks)[0]
        ?.IPAddress ?? "";
    const [aliceFirst, aliceSecond] = aliceInstances;
    // busybox nc (its static wget crashes on name lookups): what came back, if anything.
    const fetchFrom = async (containerId: string, ip: string) =>
      (
        await execIn(containerId, [
          "sh",
          "-c",
          `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 8080`,
        ])
      ).output;
    const aliceIp = await ipOf(aliceFirst.container_id);
    const sameTenant = await fetchFrom(
      aliceFirst.container_id,
      await ipOf(aliceSecond.container_id),
    );
    expect(sameTenant).toContain("200 OK");
    expect(sameTenant).toContain(`alice-secret-${nonce}`);
    const aliceToBob = await fetchFrom(
      aliceFirst.container_id,
      await ipOf(bobInstance.container_id),
    );
    expect(aliceToBob).not.toContain("HTTP/1.");
    const bobToAlice = await fetchFrom(bobInstance.container_id, aliceIp);
    expect(bobToAlice).not.toContain("HTTP/1.");
    expect(bobToAlice).not.toContain(`alice-secret-${nonce}`);
  });
});
