/**
 * Secrets with RUNTIME=swarm on a real one-node swarm: a secret file is a Docker secret made for
 * the image (named per image, secret and version; labelled with the owner), an env value from a
 * secret is in the task's env; two tenants' secrets of one name stay apart, and one tenant
 * cannot name the other's; a new value rolls the service onto a new Docker secret and the old
 * one goes; deleting the image removes its secrets.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, httpGet } from "../support/docker-helpers.ts";
import { backends } from "../support/services.ts";
import {
  holdSwarm,
  removeSwarmLeftovers,
  serviceOfImage,
  swarmDeadline,
} from "../support/swarm-suite.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const swarm = holdSwarm();

type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

describe.each(backends())("secrets with RUNTIME=swarm on %s", (backend) => {
  let server: TestServer;
  let alice: Api;
  let bob: Api;
  const imageIds: number[] = [];

  beforeEach(({ skip }) => {
    const hold = swarm();
    if (!hold.ok) skip(hold.reason);
  });
  beforeAll(async () => {
    if (!swarm().ok) return;
    server = await startTestServer({ backend, env: { RUNTIME: "swarm" } });
    const apiFor =
      (token: string): Api =>
      (method, path, body) =>
        server.request(method, path, { token, body });
    alice = apiFor(await server.createUser("alice"));
    bob = apiFor(await server.createUser("bob"));
  });
  afterAll(async () => {
    if (server !== undefined) {
      for (const id of imageIds) await server.request("DELETE", `/api/images/${id}`);
      await waitFor(
        () => docker.listServices({ filters: { label: [`managed-by=${server.orchestratorId}`] } }),
        (left) => left.length === 0,
        { ...swarmDeadline, what: "the services gone" },
      ).catch(() => {});
    }
    await server?.stop();
    if (server !== undefined) {
      await removeSwarmLeftovers(server.orchestratorId);
      // Left only by a failed test: the images' deletion removes them.
      for (const secret of await docker.listSecrets({
        filters: { label: [`managed-by=${server.orchestratorId}`] },
      }))
        await docker
          .getSecret(secret.ID)
          .remove()
          .catch(() => {});
    }
  });

  const secretsOf = async (imageId: number) =>
    (await docker.listSecrets({
      filters: {
        label: [`managed-by=${server.orchestratorId}`, `${labelKeys.imageId}=${imageId}`],
      },
    })) as any[];
  const running = (api: Api, imageId: number, accept: (item: any) => boolean = () => true) =>
    waitFor(
      async () => (await api("GET", `/api/images/${imageId}/containers`)).body.items as any[],
      (items) =>
        items.length === 1 &&
        items.every(
          (item) => item.observed_state === "running" && item.host_port !== null && accept(item),
        ),
      { ...swarmDeadline, what: `image ${imageId} running` },
    );
  /** An httpd that serves its secret file at /secret and has it in its env as TOKEN. */
  const app = (api: Api) =>
    api("POST", "/api/images", {
      name: "app",
      image: testImages.httpd,
      container_port: 8080,
      desired_instances: 1,
      max_instances: 2,
      env: { TOKEN: { secret: "db" } },
      secrets: [{ name: "db", target: "/www/secret" }],
    });
  const envOf = async (containerId: string) =>
    (await docker.getContainer(containerId).inspect()).Config.Env as string[];

  let aliceImage: number;
  let bobImage: number;
  const aliceValue = `alpha-${randomBytes(8).toString("hex")}`;
  const bobValue = `bravo-${randomBytes(8).toString("hex")}`;

  it("gives each tenant's service its own secret of one name, as a Docker secret file and in the env", async () => {
    expect((await alice("POST", "/api/secrets", { name: "db", value: aliceValue })).status).toBe(
      201,
    );
    expect((await bob("POST", "/api/secrets", { name: "db", value: bobValue })).status).toBe(201);
    const a = await app(alice);
    const b = await app(bob);
    expect([a.status, b.status]).toEqual([201, 201]);
    aliceImage = a.body.id;
    bobImage = b.body.id;
    imageIds.push(aliceImage, bobImage);

    const [aliceInstance] = await running(alice, aliceImage);
    const [bobInstance] = await running(bob, bobImage);
    expect((await httpGet(aliceInstance.host_port, "/secret")).body).toBe(aliceValue);
    expect((await httpGet(bobInstance.host_port, "/secret")).body).toBe(bobValue);
    expect(await envOf(aliceInstance.container_id)).toContain(`TOKEN=${aliceValue}`);
    expect(await envOf(bobInstance.container_id)).toContain(`TOKEN=${bobValue}`);

    // One Docker secret per image, labelled with its owner; the names never meet.
    const [aliceSecret] = await secretsOf(aliceImage);
    const [bobSecret] = await secretsOf(bobImage);
    expect(aliceSecret?.Spec?.Labels).toMatchObject({
      [labelKeys.owner]: String(a.body.user_id),
      [labelKeys.secret]: "db",
    });
    expect(bobSecret?.Spec?.Labels?.[labelKeys.owner]).toBe(String(b.body.user_id));
    expect(aliceSecret?.Spec?.Name).not.toBe(bobSecret?.Spec?.Name);
    const template = (await serviceOfImage(server.orchestratorId, aliceImage))?.Spec
      ?.TaskTemplate as any;
    expect(template.ContainerSpec.Secrets).toEqual([
      expect.objectContaining({
        SecretID: aliceSecret?.ID,
        File: expect.objectContaining({ Name: "/www/secret", Mode: 0o444 }),
      }),
    ]);
    // The values stay out of the service's labels and of every answer.
    expect(JSON.stringify(template.ContainerSpec.Labels)).not.toContain(aliceValue);
    const answers = [
      await alice("GET", `/api/images/${aliceImage}`),
      await alice("GET", "/api/events"),
    ];
    for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(aliceValue);
  });

  it("refuses a spec naming a secret only the other tenant has, and shows neither the other's secrets", async () => {
    expect((await alice("POST", "/api/secrets", { name: "only-alice", value: "x" })).status).toBe(
      201,
    );
    const stolen = await bob("PATCH", `/api/images/${bobImage}`, {
      secrets: [{ name: "only-alice", target: "/www/stolen" }],
    });
    expect(stolen.status).toBe(422);
    expect(stolen.body.errors.map((error: any) => error.path)).toEqual(["secrets[0].name"]);
    const names = ((await bob("GET", "/api/secrets")).body.items as any[]).map((s) => s.name);
    expect(names).toEqual(["db"]);
    expect((await bob("GET", `/api/images/${aliceImage}`)).status).toBe(404);
  });

  it("rolls the service onto a new Docker secret when the value changes, and removes the old one", async () => {
    const [before] = await running(alice, aliceImage);
    const [bobBefore] = await running(bob, bobImage);
    const [oldSecret] = await secretsOf(aliceImage);
    const newValue = `alpha2-${randomBytes(8).toString("hex")}`;
    const replaced = await alice("POST", "/api/secrets", { name: "db", value: newValue });
    expect(replaced.body.version).toBe(2);

    const [after] = await running(
      alice,
      aliceImage,
      (item) => item.container_id !== before.container_id,
    );
    expect((await httpGet(after.host_port, "/secret")).body).toBe(newValue);
    expect(await envOf(after.container_id)).toContain(`TOKEN=${newValue}`);
    const secrets = await waitFor(
      () => secretsOf(aliceImage),
      (left) => left.length === 1 && left[0].ID !== oldSecret?.ID,
      { ...swarmDeadline, what: "only the new Docker secret left" },
    );
    expect(secrets[0].Spec.Name).not.toBe(oldSecret?.Spec?.Name);
    // The other tenant's service is untouched.
    const [bobAfter] = await running(bob, bobImage);
    expect(bobAfter.container_id).toBe(bobBefore.container_id);
    expect((await httpGet(bobAfter.host_port, "/secret")).body).toBe(bobValue);
  });

  it("removes an image's Docker secrets with the image", async () => {
    expect((await alice("DELETE", `/api/images/${aliceImage}`)).status).toBe(202);
    await waitFor(
      async () => (await alice("GET", `/api/images/${aliceImage}`)).status,
      (status) => status === 404,
      { ...swarmDeadline, what: "the image gone" },
    );
    expect(await secretsOf(aliceImage)).toEqual([]);
    expect(await secretsOf(bobImage)).toHaveLength(1);
  });
});
