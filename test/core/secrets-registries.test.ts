/**
 * Secrets and private registries on the real engine: a secret reaches the process (env and
 * file) and nothing else (API answers, export, events rows, audit, the service's log); a new
 * value rolls the instances; another tenant cannot name it. Pull policies against real
 * registries (Debian's docker-registry, one open and one with htpasswd auth) started here on
 * loopback ports: missing pulls, never refuses, always pulls a newer push once per generation,
 * credentials are used only for their tenant's images.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportDocuments } from "../../src/gitops/export.ts";
import { capturedLogger } from "../events/relay-support.ts";
import { docker, execIn } from "../support/docker-helpers.ts";
import {
  forgetRepository,
  hasRegistry,
  imageIdOf,
  isLocal,
  pushAs,
  removeLocal,
  startRegistry,
  type TestRegistry,
  warnWithoutRegistry,
} from "../support/registry.ts";
import { backends, hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

// Under CI the skipped tests fail the run (no-skips reporter): .ci/run installs both.
warnWithoutRegistry("secrets-registries");

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

function apiFor(server: TestServer, token: string): Api {
  return (method, urlPath, body) =>
    server.request(method, urlPath, { token, ...(body === undefined ? {} : { body }) });
}

const running = (
  api: Api,
  imageId: number,
  what: string,
  accept: (item: any) => boolean = () => true,
) =>
  waitFor(
    async () => (await api("GET", `/api/containers?image_id=${imageId}`)).body.items as any[],
    (items) =>
      items.length === 1 &&
      items.every(
        (item) => item.observed_state === "running" && item.container_id !== null && accept(item),
      ),
    { what, timeoutMs: 90_000 },
  );

const degradedReason = (api: Api, imageId: number, reasons: readonly string[], what: string) =>
  waitFor(
    async () => (await api("GET", `/api/images/${imageId}`)).body,
    (image) =>
      image.conditions?.some(
        (condition: any) =>
          condition.type === "Degraded" &&
          condition.status === "True" &&
          reasons.includes(condition.reason),
      ),
    { what, timeoutMs: 90_000 },
  ).then(
    (image) => image.conditions.find((condition: any) => condition.type === "Degraded") as any,
  );

describe.each(backends())("secrets through the API, on %s", (backend) => {
  let server: TestServer;
  let alice: Api;
  let bob: Api;

  beforeAll(async () => {
    server = await startTestServer({ backend });
    alice = apiFor(server, await server.createUser("alice"));
    bob = apiFor(server, await server.createUser("bob"));
  });
  afterAll(() => server?.stop());

  it("creates, replaces, lists without values, and deletes a secret", async () => {
    const value = `v-${randomBytes(12).toString("hex")}`;
    const created = await alice("POST", "/api/secrets", { name: "api-key", value });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "api-key", version: 1 });
    const replaced = await alice("POST", "/api/secrets", { name: "api-key", value: `${value}2` });
    expect(replaced.status).toBe(200);
    expect(replaced.body.version).toBe(2);
    const listed = await alice("GET", "/api/secrets");
    expect(listed.body.items).toEqual([
      {
        name: "api-key",
        version: 2,
        created_at: expect.any(String),
        updated_at: expect.any(String),
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(value);
    expect((await bob("GET", "/api/secrets")).body.items).toEqual([]);
    expect((await bob("DELETE", "/api/secrets/api-key")).status).toBe(404);

    const rows = await server.service.store.db.selectFrom("secrets").select("ciphertext").execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(value);

    const audit = await server.request("GET", "/api/audit?action=secret.update");
    expect(audit.body.items[0]).toMatchObject({
      action: "secret.update",
      target: "secrets/api-key",
      old: { name: "api-key", version: 1 },
      new: { name: "api-key", version: 2 },
    });
    expect(JSON.stringify((await server.request("GET", "/api/audit")).body)).not.toContain(value);

    expect((await alice("DELETE", "/api/secrets/api-key")).status).toBe(204);
    expect((await alice("GET", "/api/secrets")).body.items).toEqual([]);
    expect((await alice("DELETE", "/api/secrets/api-key")).status).toBe(404);
  });

  it("refuses bad secrets with the field path, and changes nothing", async () => {
    for (const [body, field] of [
      [{ name: "Bad Name", value: "x" }, "name"],
      [{ name: "ok" }, "value"],
      [{ name: "ok", value: 3 }, "value"],
      [{ name: "ok", value: "x", extra: 1 }, "extra"],
    ] as const) {
      const answer = await alice("POST", "/api/secrets", body);
      expect(answer.status, JSON.stringify(body)).toBe(422);
      expect(answer.body.errors.map((error: any) => error.path)).toContain(field);
    }
    expect((await alice("GET", "/api/secrets")).body.items).toEqual([]);
  });

  it("refuses a spec naming a secret its owner does not have (another tenant's included), and a delete while in use", async () => {
    await alice("POST", "/api/secrets", { name: "db-password", value: "alice-only" });
    const spec = {
      image: testImages.httpd,
      desired_instances: 0,
      env: { PLAIN: "x", DB: { secret: "db-password" } },
      secrets: ["db-password"],
    };
    const stolen = await bob("POST", "/api/images", { name: "thief", ...spec });
    expect(stolen.status).toBe(422);
    expect(stolen.body.errors.map((error: any) => error.path).sort()).toEqual([
      "env.DB",
      "secrets[0].name",
    ]);
    expect((await bob("GET", "/api/images")).body.items).toEqual([]);

    const applied = await bob("POST", "/api/apply", {
      set: "bob-set",
      documents: [{ name: "thief", ...spec }],
    });
    expect(applied.status).toBe(422);

    const mine = await alice("POST", "/api/images", { name: "app", ...spec });
    expect(mine.status).toBe(201);
    expect(mine.body.env).toEqual({ PLAIN: "x", DB: { secret: "db-password" } });
    expect(mine.body.secrets).toEqual([
      { name: "db-password", target: "/run/secrets/db-password" },
    ]);

    const patched = await alice("PATCH", `/api/images/${mine.body.id}`, {
      env: { DB: { secret: "missing" } },
    });
    expect(patched.status).toBe(422);
    expect(patched.body.errors).toEqual([
      { path: "env.DB", message: expect.stringContaining("missing") },
    ]);

    const inUse = await alice("DELETE", "/api/secrets/db-password");
    expect(inUse.status).toBe(409);
    expect(inUse.body.code).toBe("secret_in_use");
    expect(inUse.body.images).toEqual([{ id: mine.body.id, name: "app" }]);

    const readOnly = await alice("PATCH", `/api/images/${mine.body.id}`, {
      read_only_root_filesystem: true,
    });
    expect(readOnly.status).toBe(422);
    expect(readOnly.body.errors[0].path).toBe("secrets");
  });

  it("stores registry credentials per tenant, never showing the password", async () => {
    const password = `p-${randomBytes(12).toString("hex")}`;
    const created = await alice("POST", "/api/registries", {
      server: "https://Registry.Example.com/",
      username: "ci",
      password,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ server: "registry.example.com", username: "ci" });
    expect(JSON.stringify(created.body)).not.toContain(password);
    expect((await alice("GET", "/api/registries")).body.items).toEqual([
      expect.objectContaining({ server: "registry.example.com", username: "ci" }),
    ]);
    expect((await bob("GET", "/api/registries")).body.items).toEqual([]);
    expect((await bob("DELETE", "/api/registries/registry.example.com")).status).toBe(404);
    const bad = await alice("POST", "/api/registries", {
      server: "a b",
      username: "x",
      password: "y",
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe("server");
    const stored = await server.service.store.db
      .selectFrom("registry_credentials")
      .selectAll()
      .execute();
    expect(JSON.stringify(stored)).not.toContain(password);
    expect(JSON.stringify((await server.request("GET", "/api/audit")).body)).not.toContain(
      password,
    );
    expect((await alice("DELETE", "/api/registries/registry.example.com")).status).toBe(204);
    expect((await alice("GET", "/api/registries")).body.items).toEqual([]);
  });
});

describe.skipIf(!hasDocker())("secrets in containers on the engine", () => {
  let server: TestServer;
  let alice: Api;
  const logs = capturedLogger("debug");

  beforeAll(async () => {
    server = await startTestServer({ logger: logs.logger });
    alice = apiFor(server, await server.createUser("alice"));
  });
  afterAll(() => server?.stop());

  it("gives the process its secret as env and file, shows it nowhere else, and rolls on a new value", async () => {
    const value = `first-${randomBytes(12).toString("hex")}`;
    expect((await alice("POST", "/api/secrets", { name: "db-password", value })).status).toBe(201);
    const created = await alice("POST", "/api/images", {
      name: "app",
      image: testImages.httpd,
      memory_limit: "32m",
      env: { PLAIN: "visible", DB_PASSWORD: { secret: "db-password" } },
      secrets: [{ name: "db-password", target: "/run/secrets/db-password" }],
    });
    expect(created.status).toBe(201);
    const imageId = created.body.id as number;
    const [first] = await running(alice, imageId, "the app running with its secret");
    const containerId = first.container_id as string;

    expect(await execIn(containerId, ["sh", "-c", 'echo "$DB_PASSWORD"'])).toEqual({
      exitCode: 0,
      output: `${value}\n`,
    });
    expect((await execIn(containerId, ["cat", "/run/secrets/db-password"])).output).toBe(value);
    expect(
      (await execIn(containerId, ["stat", "-c", "%a %u", "/run/secrets/db-password"])).output,
    ).toBe("444 0\n");

    // Every answer the API gives about it, the export, the rows bound for Kafka, the audit log
    // and the service's log: the reference at most, never the value.
    const answers = [
      await alice("GET", `/api/images/${imageId}`),
      await alice("GET", "/api/images"),
      await alice("GET", "/api/images/with-containers"),
      await alice("GET", `/api/images/${imageId}/containers`),
      await alice("GET", "/api/containers"),
      await alice("GET", `/api/containers/${first.id}`),
      await alice("GET", "/api/events"),
      await alice("GET", "/api/secrets"),
      await server.request("GET", "/api/audit"),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.body)).not.toContain(value);
    }
    expect(answers[0]?.body.env).toEqual({
      PLAIN: "visible",
      DB_PASSWORD: { secret: "db-password" },
    });
    const exported = exportDocuments((await alice("GET", "/api/images")).body.items);
    expect(exported).toContain("secret: db-password");
    expect(exported).not.toContain(value);
    const db = server.service.store.db;
    const stored = JSON.stringify([
      await db.selectFrom("events").select(["type", "data"]).execute(),
      await db.selectFrom("audit_log").selectAll().execute(),
      await db.selectFrom("images").selectAll().execute(),
      await db.selectFrom("instances").selectAll().execute(),
      await db.selectFrom("secrets").selectAll().execute(),
    ]);
    expect(stored).toContain("container.started");
    expect(stored).not.toContain(value);

    // A new value: the instance is replaced and the new container has it.
    const second = `second-${randomBytes(12).toString("hex")}`;
    const replaced = await alice("POST", "/api/secrets", { name: "db-password", value: second });
    expect(replaced.body.version).toBe(2);
    const [rolled] = await running(
      alice,
      imageId,
      "the app rolled to the new value",
      (item) => item.container_id !== containerId,
    );
    expect((await execIn(rolled.container_id, ["sh", "-c", 'echo "$DB_PASSWORD"'])).output).toBe(
      `${second}\n`,
    );
    expect((await execIn(rolled.container_id, ["cat", "/run/secrets/db-password"])).output).toBe(
      second,
    );
    await expect(docker.getContainer(containerId).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });

    expect(logs.text()).toContain("secret replaced");
    expect(logs.text()).toContain("executing plan");
    expect(logs.text()).not.toContain(value);
    expect(logs.text()).not.toContain(second);
    const events = JSON.stringify(await db.selectFrom("events").select("data").execute());
    expect(events).not.toContain(second);
  });
});

describe.skipIf(!hasDocker() || !hasRegistry)("pull policies and private registries", () => {
  let server: TestServer;
  let alice: Api;
  let bob: Api;
  let open: TestRegistry;
  let closed: TestRegistry;
  const credentials = { username: "alice-ci", password: `pw-${randomBytes(10).toString("hex")}` };
  const pushed: string[] = [];
  const logs = capturedLogger("debug");

  beforeAll(async () => {
    [open, closed] = await Promise.all([startRegistry(), startRegistry(credentials)]);
    server = await startTestServer({ logger: logs.logger });
    alice = apiFor(server, await server.createUser("alice"));
    bob = apiFor(server, await server.createUser("bob"));
  });

  afterAll(async () => {
    await server?.stop();
    await Promise.all(pushed.map(forgetRepository));
    await Promise.all([open?.stop(), closed?.stop()]);
  });

  it("pulls a missing image, refuses under never, and pulls a newer push under always once per generation", async () => {
    const reference = `${open.host}/app:1`;
    pushed.push(reference);
    await pushAs(testImages.httpd, reference);
    await removeLocal(reference);
    expect(await isLocal(reference)).toBe(false);

    const never = await alice("POST", "/api/images", {
      name: "never",
      image: reference,
      pull_policy: "never",
      memory_limit: "32m",
    });
    const refused = await degradedReason(alice, never.body.id, ["ImageNotFound"], "never refused");
    expect(refused.message).toContain("pull_policy is never");
    expect(await isLocal(reference)).toBe(false);

    const missing = await alice("POST", "/api/images", {
      name: "missing",
      image: reference,
      memory_limit: "32m",
    });
    expect(missing.status).toBe(201);
    await running(alice, missing.body.id, "the pulled image running");
    expect(await imageIdOf(reference)).toBe(await imageIdOf(testImages.httpd));

    // always: the running image is pulled again for each generation; a newer push under the
    // same tag reaches the containers once the spec changes.
    const moving = `${open.host}/moving:1`;
    pushed.push(moving);
    await pushAs(testImages.httpd, moving);
    const always = await alice("POST", "/api/images", {
      name: "always",
      image: moving,
      pull_policy: "always",
      memory_limit: "32m",
    });
    const [before] = await running(alice, always.body.id, "the always image running");
    const httpdId = await imageIdOf(testImages.httpd);
    expect((await docker.getContainer(before.container_id).inspect()).Image).toBe(httpdId);

    // A different image (also a web server) under the same tag.
    await pushAs(testImages.hang, moving);
    const newerId = await imageIdOf(testImages.hang);
    // Tagging locally moved the tag here too: take it away so only a pull can bring it.
    await removeLocal(moving);
    const patched = await alice("PATCH", `/api/images/${always.body.id}`, {
      env: { GENERATION: "2" },
    });
    expect(patched.status).toBe(200);
    const image = await waitFor(
      async () => (await alice("GET", `/api/images/${always.body.id}`)).body,
      (current) =>
        current.docker_image_id === newerId && current.observed_generation === current.generation,
      { what: "the newer push resolved under always", timeoutMs: 90_000 },
    );
    expect(image.docker_image_id).toBe(newerId);
    const containers = await waitFor(
      async () => (await alice("GET", `/api/containers?image_id=${always.body.id}`)).body.items,
      (items: any[]) =>
        items.length === 1 &&
        items[0].container_id !== null &&
        items[0].container_id !== before.container_id,
      { what: "a container of the newer image", timeoutMs: 90_000 },
    );
    expect((await docker.getContainer(containers[0].container_id).inspect()).Image).toBe(newerId);
  });

  it("pulls from a registry with auth only with the tenant's credentials, and never for another tenant", async () => {
    const reference = `${closed.host}/private:1`;
    pushed.push(reference);
    await pushAs(testImages.httpd, reference, { ...credentials, server: closed.host });
    await removeLocal(reference);

    const created = await alice("POST", "/api/images", {
      name: "private",
      image: reference,
      memory_limit: "32m",
    });
    const failed = await degradedReason(
      alice,
      created.body.id,
      ["ImagePullFailed"],
      "pull without credentials",
    );
    expect(failed.message).toMatch(
      /no basic auth credentials|unauthorized|authentication required/i,
    );

    const stored = await alice("POST", "/api/registries", {
      server: closed.host,
      username: credentials.username,
      password: credentials.password,
    });
    expect(stored.status).toBe(201);
    // Back-off retries the pull; a PATCH makes it look now.
    await alice("PATCH", `/api/images/${created.body.id}`, { env: { WITH: "credentials" } });
    await running(alice, created.body.id, "the private image running with credentials");

    // Bob names the same reference: the engine has it now, but Bob has no credentials, and
    // Alice's are never used for his images.
    const stolen = await bob("POST", "/api/images", {
      name: "private",
      image: reference,
      memory_limit: "32m",
    });
    expect(stolen.status).toBe(201);
    const refused = await degradedReason(
      bob,
      stolen.body.id,
      ["ImageNotAllowed", "ImagePullFailed"],
      "bob refused without credentials",
    );
    expect(refused.message).toMatch(
      /no basic auth credentials|unauthorized|authentication required/i,
    );
    expect(
      (await bob("GET", `/api/containers?image_id=${stolen.body.id}`)).body.items.every(
        (item: any) => item.container_id === null,
      ),
    ).toBe(true);

    for (const answer of [
      await alice("GET", "/api/registries"),
      await server.request("GET", "/api/audit"),
      await alice("GET", "/api/events"),
    ]) {
      expect(JSON.stringify(answer.body)).not.toContain(credentials.password);
    }
    expect(logs.text()).toContain("pulling image");
    expect(logs.text()).not.toContain(credentials.password);
  });
});
