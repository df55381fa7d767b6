/**
 * Registries and builds on the real engine, against Debian's docker-registry with htpasswd
 * authentication: built images are pushed to REGISTRY_URL and recorded with the image
 * (`registry_reference`, and in `image.ready`); removed from the engine, a build is pulled back
 * by the controller with the configured credentials and runs, without building again; a push
 * the registry refuses fails the build (`push_failed`). A base image in a private registry is
 * pulled for the build with its owner's stored credentials, never another tenant's.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, httpGet } from "../support/docker-helpers.ts";
import {
  hasRegistry,
  isLocal,
  pushAs,
  removeLocal,
  startRegistry,
  type TestRegistry,
  warnWithoutRegistry,
} from "../support/registry.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import {
  archiveOf,
  builtTag,
  eventsOf,
  getImage,
  instancesOf,
  startBuildServer,
  uploadImage,
  waitForStatus,
  webApp,
} from "./build-support.ts";

warnWithoutRegistry("registry-push");

const credentials = { username: "ci-push", password: `pw-${randomBytes(10).toString("hex")}` };

const basicAuth = (username: string, password: string) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;

/** The registry's own answer for a manifest (v2 API), with or without credentials. */
async function manifest(host: string, repository: string, reference: string, auth?: string) {
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${reference}`, {
    headers: {
      accept: "application/vnd.docker.distribution.manifest.v2+json",
      ...(auth === undefined ? {} : { authorization: auth }),
    },
  });
  return { status: response.status, digest: response.headers.get("docker-content-digest") };
}

const serving = (server: TestServer, imageId: number, body: string) =>
  waitFor(
    async () => {
      const running = (await instancesOf(server, imageId)).filter(
        (item) => item.observed_state === "running" && item.host_port !== null,
      );
      return running.length === 1 ? (await httpGet(running[0].host_port)).body : undefined;
    },
    (answer) => answer === body,
    { what: `image ${imageId} serving ${JSON.stringify(body)}`, timeoutMs: 120_000 },
  );

describe.runIf(hasDocker() && hasRegistry)("registries and builds", () => {
  let registry: TestRegistry;
  let server: TestServer;

  beforeAll(async () => {
    registry = await startRegistry(credentials);
    server = await startBuildServer({
      env: {
        REGISTRY_URL: `http://${registry.host}/builds`,
        REGISTRY_USERNAME: credentials.username,
        REGISTRY_PASSWORD: credentials.password,
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    await registry?.stop();
  });

  it("pushes a build, records where, and pulls it back with the configured credentials once the engine lost it", async () => {
    const body = `pushed ${randomBytes(4).toString("hex")}\n`;
    const uploaded = await uploadImage(
      server,
      { name: "pushed", tag: "v1", memory_limit: "16m", cpu_limit: "0.1" },
      await archiveOf("tar", webApp(body)),
      { filename: "app.tar" },
    );
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
    const imageId = uploaded.body.id as number;
    const ready = await waitForStatus(server, imageId, "ready");
    const local = await builtTag(server, imageId, "v1");
    const repository = `builds/${local.slice(0, local.lastIndexOf(":"))}`;
    expect(ready.registry_reference).toMatch(
      new RegExp(`^${registry.host}/${repository}:v1@sha256:[0-9a-f]{64}$`),
    );
    const digest = ready.registry_reference.slice(ready.registry_reference.indexOf("@") + 1);
    expect(ready.build_logs).toContain(`pushed ${ready.registry_reference}`);
    const readyEvent = (await eventsOf(server, imageId)).find(
      (event) => event.type === "image.ready",
    );
    expect(readyEvent.data.registry_reference).toBe(ready.registry_reference);

    // In the registry, behind its authentication.
    expect((await manifest(registry.host, repository, "v1")).status).toBe(401);
    expect(
      await manifest(
        registry.host,
        repository,
        "v1",
        basicAuth(credentials.username, credentials.password),
      ),
    ).toEqual({ status: 200, digest });
    // The engine keeps the build under its own name only.
    expect(await isLocal(`${registry.host}/${repository}:v1`)).toBe(false);
    await serving(server, imageId, body);

    // The engine loses the image: no container runs it, then it is removed.
    expect(
      (await server.request("PATCH", `/api/images/${imageId}`, { body: { desired_instances: 0 } }))
        .status,
    ).toBe(200);
    await waitFor(
      () => instancesOf(server, imageId),
      (items) => items.length === 0,
      { what: "no instance left", timeoutMs: 90_000 },
    );
    await docker.getImage(ready.docker_image_id).remove({ force: true });
    expect(await isLocal(local)).toBe(false);

    expect(
      (await server.request("PATCH", `/api/images/${imageId}`, { body: { desired_instances: 1 } }))
        .status,
    ).toBe(200);
    await serving(server, imageId, body);
    const restored = await docker.getImage(local).inspect();
    expect(restored.Id).toBe(ready.docker_image_id);
    expect(restored.RepoDigests).toContain(`${registry.host}/${repository}@${digest}`);
    // Pulled, not built again.
    const building = (await eventsOf(server, imageId)).filter(
      (event) => event.type === "image.building",
    );
    expect(building.map((event) => event.data.reason)).toEqual(["upload"]);
    expect((await getImage(server, imageId)).status).toBe("ready");
  });

  it("fails the build when the registry refuses the push", async () => {
    const wrong = await startBuildServer({
      env: {
        REGISTRY_URL: registry.host,
        REGISTRY_USERNAME: credentials.username,
        REGISTRY_PASSWORD: "not-the-password",
      },
    });
    try {
      const uploaded = await uploadImage(
        wrong,
        { name: "refused", memory_limit: "16m", cpu_limit: "0.1" },
        await archiveOf("tar", webApp("never pushed\n")),
        { filename: "app.tar" },
      );
      expect(uploaded.status).toBe(202);
      const failed = await waitForStatus(wrong, uploaded.body.id, "build_failed");
      expect(failed.registry_reference).toBeNull();
      const logs = await wrong.request("GET", `/api/images/${uploaded.body.id}/build-logs`);
      expect(logs.body.failure_reason).toBe("push_failed");
      expect(failed.build_logs).toMatch(
        /built, but the push to 127\.0\.0\.1:\d+\/.+ failed: .*(unauthorized|authentication required|no basic auth)/i,
      );
      expect(failed.build_logs).not.toContain("not-the-password");
    } finally {
      await wrong.stop();
    }
  });

  it("pulls a private base with the owner's stored credentials, and never for another tenant", async () => {
    const base = `${registry.host}/bases/httpd:1`;
    await pushAs(testImages.httpd, base, { ...credentials, server: registry.host });
    await removeLocal(base);
    expect(await isLocal(base)).toBe(false);
    const alice = await server.createUser("alice");
    const bob = await server.createUser("bob");
    /** `tenant` uploads an app FROM the private base, serving `body`. */
    const uploadOnBase = async (token: string, body: string) => {
      const dockerfile = `FROM ${base}\nRUN echo "${body}" > /www/index.html\n`;
      const uploaded = await uploadImage(
        server,
        { name: "on-private-base", memory_limit: "16m", cpu_limit: "0.1" },
        await archiveOf("tar", [{ name: "Dockerfile", content: dockerfile }]),
        { token, filename: "app.tar" },
      );
      expect(uploaded.status).toBe(202);
      return uploaded;
    };
    try {
      const first = await uploadOnBase(alice, "alice's app");
      const refused = await waitForStatus(server, first.body.id, "build_failed");
      expect(refused.build_logs).toContain(
        `Dockerfile line 1: ${base} could not be pulled (no stored credentials for its registry: POST /api/registries)`,
      );

      const stored = await server.request("POST", "/api/registries", {
        token: alice,
        body: { server: registry.host, ...credentials },
      });
      expect(stored.status).toBe(201);
      expect(
        (await server.request("POST", `/api/images/${first.body.id}/rebuild`, { token: alice }))
          .status,
      ).toBe(202);
      await waitForStatus(server, first.body.id, "ready");
      await serving(server, first.body.id, "alice's app\n");
      expect(await isLocal(base)).toBe(true);

      // Bob names the same base: the engine has it now, Alice's credentials are hers.
      const stolen = await uploadOnBase(bob, "bob's app");
      const bobs = await waitForStatus(server, stolen.body.id, "build_failed");
      expect(bobs.build_logs).toContain(
        `Dockerfile line 1: ${base} is a local image that is neither allowed (ALLOWED_LOCAL_IMAGES) nor given by a registry`,
      );
      expect(bobs.build_logs).not.toContain(credentials.password);
    } finally {
      await removeLocal(base);
    }
  });
});
