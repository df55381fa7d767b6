import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, httpGet } from "../support/docker-helpers.ts";
import { backends } from "../support/services.ts";
import {
  holdSwarm,
  removeSwarmLeftovers,
  runningTasksOfImage,
  serviceOfImage,
  swarmDeadline,
} from "../support/swarm-suite.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const swarm = holdSwarm();

describe.each(backends())("RUNTIME=swarm on %s", (backend) => {
  let server: TestServer;
  let imageId: number;

  // Without a swarm (and without CI, where ensureSwarm throws instead) the tests skip, saying why.
  beforeEach(({ skip }) => {
    const hold = swarm();
    if (!hold.ok) skip(hold.reason);
  });
  beforeAll(async () => {
    if (!swarm().ok) return;
    server = await startTestServer({ backend, env: { RUNTIME: "swarm" } });
  });
  afterAll(async () => {
    await server?.stop();
    if (server !== undefined) await removeSwarmLeftovers(server.orchestratorId);
  });

  const instances = async () =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const serviceOf = () => serviceOfImage(server.orchestratorId, imageId);
  const runningTasks = () => runningTasksOfImage(server.orchestratorId, imageId);
  const allRunning = (count: number) => (items: any[]) =>
    items.length === count &&
    items.every((item) => item.observed_state === "running" && item.host_port !== null);
  const events = async (query: string) =>
    (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000${query}`)).body
      .items as any[];

  it("converges an image into one service: replicas, labels, limits, env, overlay network, host ports", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "web",
        image: testImages.httpd,
        container_port: 8080,
        min_instances: 1,
        max_instances: 5,
        desired_instances: 3,
        cpu_limit: "250m",
        memory_limit: "48Mi",
        env: { GREETING: "hello" },
      },
    });
    expect(created.status).toBe(201);
    imageId = created.body.id;

    const converged = await waitFor(instances, allRunning(3), {
      ...swarmDeadline,
      what: "3 running instances",
    });
    for (const instance of converged) {
      expect((await httpGet(instance.host_port)).body).toBe("ok\n");
    }
    expect(new Set(converged.map((instance) => instance.host_port)).size).toBe(3);
    expect(new Set(converged.map((instance) => instance.container_id)).size).toBe(3);

    const service = await serviceOf();
    expect(service?.Spec?.Name).toBe(`${server.orchestratorId}-i${imageId}`);
    expect(service?.Spec?.Mode?.Replicated?.Replicas).toBe(3);
    expect(service?.Spec?.Labels).toMatchObject({
      [labelKeys.managedBy]: server.orchestratorId,
      [labelKeys.imageId]: String(imageId),
      [labelKeys.owner]: "1",
    });
    const template = service?.Spec?.TaskTemplate as any;
    expect(template.Resources.Limits).toMatchObject({
      NanoCPUs: 250_000_000,
      MemoryBytes: 48 * 1024 * 1024,
    });
    expect(template.ContainerSpec.Env).toContain("GREETING=hello");
    expect(service?.Endpoint?.Spec?.Ports?.[0]).toMatchObject({
      TargetPort: 8080,
      PublishMode: "host",
    });
    const network = await docker.getNetwork(`${server.orchestratorId}-u1-swarm`).inspect();
    expect(network.Driver).toBe("overlay");
    expect(template.Networks.map((entry: any) => entry.Target)).toContain(network.Id);

    // Each task's container carries the contract's labels and the limits.
    const info = await docker.getContainer(converged[0].container_id).inspect();
    expect(info.Config.Labels).toMatchObject({
      [labelKeys.managedBy]: server.orchestratorId,
      [labelKeys.imageId]: String(imageId),
    });
    expect(info.HostConfig.Memory).toBe(48 * 1024 * 1024);

    // Each task's start is one event, naming the node it runs on.
    const node = (await docker.info()).Name;
    const started = await waitFor(
      () => events("&type=container.started"),
      (items) => items.length >= 3,
      swarmDeadline,
    );
    expect(started).toHaveLength(3);
    for (const event of started) expect(event.data.node).toBe(node);

    const image = await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).body,
      (body) => body.conditions.some((c: any) => c.type === "Ready" && c.status === "True"),
      { ...swarmDeadline, what: "Ready" },
    );
    expect(image.observed_generation).toBe(image.generation);
  });

  it("scales the service's replicas down and up", async () => {
    expect(
      (await server.request("PATCH", `/api/images/${imageId}`, { body: { desired_instances: 1 } }))
        .status,
    ).toBe(200);
    await waitFor(instances, allRunning(1), { ...swarmDeadline, what: "1 running instance" });
    expect((await serviceOf())?.Spec?.Mode?.Replicated?.Replicas).toBe(1);
    await waitFor(runningTasks, (tasks) => tasks.length === 1, {
      ...swarmDeadline,
      what: "1 task",
    });

    expect(
      (await server.request("PATCH", `/api/images/${imageId}`, { body: { desired_instances: 2 } }))
        .status,
    ).toBe(200);
    const scaled = await waitFor(instances, allRunning(2), { ...swarmDeadline, what: "2 running" });
    expect((await serviceOf())?.Spec?.Mode?.Replicated?.Replicas).toBe(2);
    for (const instance of scaled) expect((await httpGet(instance.host_port)).body).toBe("ok\n");
  });

  it("reports a killed task once, and the task Swarm starts in its place as the same instance", async () => {
    const before = await waitFor(instances, allRunning(2), swarmDeadline);
    const victim = before[0];
    await docker.getContainer(victim.container_id).kill();
    const healed = await waitFor(
      async () => (await server.request("GET", `/api/containers/${victim.id}`)).body,
      (body) =>
        body.observed_state === "running" &&
        body.container_id !== null &&
        body.container_id !== victim.container_id,
      { ...swarmDeadline, what: "the instance running on a new task" },
    );
    expect((await instances()).map((instance) => instance.id).sort()).toEqual(
      before.map((instance) => instance.id).sort(),
    );
    const ofVictim = (await events(`&instance_id=${victim.id}`)).filter(
      (event) => event.data.container_id === victim.container_id,
    );
    // The kill ends the old task: one failure (exit 137), then one removal, nothing twice.
    expect(ofVictim.filter((event) => event.type === "container.failed")).toHaveLength(1);
    expect(ofVictim.find((event) => event.type === "container.failed")?.data.exit_code).toBe(137);
    expect(ofVictim.filter((event) => event.type === "container.removed")).toHaveLength(1);
    const ofNew = (await events(`&instance_id=${victim.id}`)).filter(
      (event) => event.data.container_id === healed.container_id,
    );
    expect(ofNew.map((event) => event.type)).toEqual(["container.created", "container.started"]);
    expect((await httpGet(healed.host_port)).body).toBe("ok\n");
  });

  it("updates the service when the spec drifts (env changed): every task replaced", async () => {
    const before = await waitFor(instances, allRunning(2), swarmDeadline);
    const hashBefore = (await serviceOf())?.Spec?.Labels?.[labelKeys.specHash];
    expect(
      (
        await server.request("PATCH", `/api/images/${imageId}`, {
          body: { env: { GREETING: "bye" } },
        })
      ).status,
    ).toBe(200);
    const after = await waitFor(
      instances,
      (items) =>
        allRunning(2)(items) &&
        items.every((item) => !before.some((old) => old.container_id === item.container_id)),
      { ...swarmDeadline, what: "2 instances on new tasks" },
    );
    const service = await serviceOf();
    expect(service?.Spec?.Labels?.[labelKeys.specHash]).not.toBe(hashBefore);
    expect((service?.Spec?.TaskTemplate as any)?.ContainerSpec.Env).toContain("GREETING=bye");
    for (const instance of after) {
      const info = await docker.getContainer(instance.container_id).inspect();
      expect(info.Config.Env).toContain("GREETING=bye");
    }
  });

  it("updates the service when the restart policy changes (Swarm restarts the tasks)", async () => {
    expect(
      (
        await server.request("PATCH", `/api/images/${imageId}`, {
          body: { restart_policy: { name: "on-failure", max_retries: 2 } },
        })
      ).status,
    ).toBe(200);
    const service = await waitFor(
      serviceOf,
      (found) => (found?.Spec?.TaskTemplate as any)?.RestartPolicy?.Condition === "on-failure",
      { ...swarmDeadline, what: "the service's restart policy updated" },
    );
    expect((service?.Spec?.TaskTemplate as any)?.RestartPolicy).toMatchObject({
      Condition: "on-failure",
      MaxAttempts: 2,
    });
    await waitFor(instances, allRunning(2), { ...swarmDeadline, what: "2 running again" });
  });

  it("deletes the service, its containers and the image", async () => {
    expect((await server.request("DELETE", `/api/images/${imageId}`)).status).toBe(202);
    await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).status,
      (status) => status === 404,
      { ...swarmDeadline, what: "the image gone" },
    );
    expect(await serviceOf()).toBeUndefined();
    expect(
      await docker.listContainers({
        all: true,
        filters: { label: [`managed-by=${server.orchestratorId}`] },
      }),
    ).toEqual([]);
    const types = (await events("")).map((event) => event.type);
    expect(types).toContain("image.deleted");
  });
});
