import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import {
  docker,
  httpGet,
  managedContainers,
  runningContainers,
} from "../support/docker-helpers.ts";
import { announcedRemoval, removalTail } from "../support/removal-events.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.each(backends())("convergence on %s", (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(() => server?.stop());

  const instancesOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const eventsOf = async (imageId: number) =>
    (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`)).body.items as any[];

  it("runs exactly desired_instances containers with ports, limits, env, labels and names", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "web",
        tag: "v1",
        image: testImages.httpd,
        app_hostname: "web.example.com",
        container_port: 8080,
        min_instances: 1,
        max_instances: 5,
        desired_instances: 3,
        cpu_limit: "500m",
        memory_limit: "64Mi",
        env: { GREETING: "hello", PORT: 8080 },
      },
    });
    expect(created.status).toBe(201);
    const imageId = created.body.id as number;
    expect(created.body).toMatchObject({
      status: "pending",
      desired_instances: 3,
      cpu_limit: "0.5",
      memory_limit: "64m",
      generation: 1,
    });

    const instances = await waitFor(
      () => instancesOf(imageId),
      (items) =>
        items.length === 3 &&
        items.every((item) => item.observed_state === "running" && item.host_port !== null),
      { what: "3 running instances" },
    );
    const containers = await runningContainers(server.orchestratorId, imageId);
    expect(containers).toHaveLength(3);

    for (const instance of instances) {
      expect(instance.name).toBe(`${server.orchestratorId}-web-${instance.id}`);
      expect((await httpGet(instance.host_port)).body).toBe("ok\n");
      const info = await docker.getContainer(instance.container_id).inspect();
      expect(info.Name).toBe(`/${instance.name}`);
      expect(info.HostConfig.NanoCpus).toBe(500_000_000);
      expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
      expect(info.Config.Env).toEqual(expect.arrayContaining(["GREETING=hello", "PORT=8080"]));
      expect(info.Config.Labels).toMatchObject({
        [labelKeys.managedBy]: server.orchestratorId,
        [labelKeys.imageId]: String(imageId),
        [labelKeys.instanceId]: instance.id,
        [labelKeys.owner]: "1",
      });
      expect(info.Config.Labels?.[labelKeys.specHash]).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(new Set(instances.map((instance) => instance.id)).size).toBe(3);

    const image = await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).body,
      (body) =>
        body.observed_generation === body.generation &&
        body.conditions.some((c: any) => c.type === "Ready" && c.status === "True"),
      { what: "image Ready" },
    );
    expect(image.status).toBe("ready");
    expect(image.conditions.find((c: any) => c.type === "Degraded").status).toBe("False");

    const events = (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`)).body
      .items as any[];
    for (const instance of instances) {
      const own = events
        .filter((event) => event.instance_id === instance.id)
        .map((event) => event.type);
      expect(own).toEqual(["container.created", "container.started"]);
    }
    const started = events.find((event) => event.type === "container.started");
    expect(started.data).toMatchObject({
      image_id: imageId,
      image: testImages.httpd,
      user_id: "1",
      app_hostname: "web.example.com",
      host: "127.0.0.1",
      container_port: 8080,
      cpu_limit: "0.5",
      memory_limit: "64m",
      stopped_at: null,
      reason: "scale_up",
    });
    expect(started.data.host_port).toBeGreaterThan(0);
    expect(started.data.container_id).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(started.data.started_at)).not.toBeNaN();
  });

  it("scales 3 → 1 (draining, stopped and removed events), then adds instances up to max_instances", async () => {
    const image = (await server.request("GET", "/api/images")).body.items.find(
      (item: any) => item.name === "web",
    );
    const before = await instancesOf(image.id);
    const patched = await server.request("PATCH", `/api/images/${image.id}`, {
      body: { desired_instances: 1 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.generation).toBe(image.generation + 1);
    await waitFor(
      () => runningContainers(server.orchestratorId, image.id),
      (list) => list.length === 1,
      { what: "1 container" },
    );
    await waitFor(
      () => managedContainers(server.orchestratorId, image.id),
      (list) => list.length === 1,
      { what: "2 removed" },
    );
    // The container is gone from the engine a moment before its removal is recorded.
    const events = await waitFor(
      async () =>
        (
          await server.request(
            "GET",
            `/api/events?image_id=${image.id}&type=container.stopped,container.removed`,
          )
        ).body.items as any[],
      (items) => items.filter((event) => event.type === "container.removed").length >= 2,
      { what: "2 removed events" },
    );
    expect(events.filter((event) => event.type === "container.stopped")).toHaveLength(2);
    expect(events.filter((event) => event.type === "container.removed")).toHaveLength(2);
    for (const stopped of events) {
      expect(stopped.data.reason).toBe("scale_down");
      expect(Date.parse(stopped.data.started_at)).toBeLessThanOrEqual(
        Date.parse(stopped.data.stopped_at),
      );
    }
    // Each victim was announced once, before its stop.
    const survivors = new Set((await instancesOf(image.id)).map((item) => item.id));
    const victims = before.filter((item) => !survivors.has(item.id));
    expect(victims).toHaveLength(2);
    const all = await eventsOf(image.id);
    for (const victim of victims) {
      expect(removalTail(all, victim.id), victim.id).toEqual(announcedRemoval("scale_down"));
    }
    const scaled = (
      await server.request("GET", `/api/events?image_id=${image.id}&type=image.scaled`)
    ).body.items as any[];
    expect(scaled.at(-1).data).toMatchObject({
      desired_instances: 1,
      previous_desired_instances: 3,
    });

    const added = await server.request("POST", `/api/containers/${image.id}`, {
      body: { count: 4 },
    });
    expect(added.status).toBe(202);
    expect(added.body.desired_instances).toBe(5);
    const refused = await server.request("POST", `/api/containers/${image.id}`, {
      body: { count: 1 },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("max_instances_exceeded");
    await waitFor(
      () => runningContainers(server.orchestratorId, image.id),
      (list) => list.length === 5,
      { what: "5 containers" },
    );
  });

  it("stops, starts and deletes single instances", async () => {
    const image = (await server.request("GET", "/api/images")).body.items.find(
      (item: any) => item.name === "web",
    );
    const [first, second] = (await instancesOf(image.id)) as any[];
    expect((await server.request("POST", `/api/containers/${first.id}/stop`)).status).toBe(202);
    await waitFor(
      async () => (await server.request("GET", `/api/containers/${first.id}`)).body,
      (body) => body.desired_state === "stopped" && body.observed_state === "stopped",
      { what: "stopped" },
    );
    expect((await docker.getContainer(first.container_id).inspect()).State.Running).toBe(false);
    expect((await server.request("POST", `/api/containers/${first.id}/start`)).status).toBe(202);
    await waitFor(
      async () => (await server.request("GET", `/api/containers/${first.id}`)).body,
      (body) => body.observed_state === "running",
      { what: "running again" },
    );
    expect((await server.request("DELETE", `/api/containers/${second.id}`)).status).toBe(202);
    await waitFor(
      async () => (await server.request("GET", `/api/containers/${second.id}`)).status,
      (status) => status === 404,
      { what: "instance gone" },
    );
    expect((await server.request("GET", `/api/images/${image.id}`)).body.desired_instances).toBe(4);
    // The API's mark is announced by the controller, once, before the stop.
    expect(removalTail(await eventsOf(image.id), second.id)).toEqual(announcedRemoval("deleted"));
    await waitFor(
      () => managedContainers(server.orchestratorId, image.id),
      (list) => list.length === 4,
      { what: "4 containers" },
    );
  });

  it("deletes an image: containers first, then the image, with image.deleted", async () => {
    const image = (await server.request("GET", "/api/images")).body.items.find(
      (item: any) => item.name === "web",
    );
    const going = await instancesOf(image.id);
    expect(going.length).toBeGreaterThan(0);
    const deleted = await server.request("DELETE", `/api/images/${image.id}`);
    expect(deleted.status).toBe(202);
    expect(deleted.body.status).toBe("deleting");
    await waitFor(
      async () => (await server.request("GET", `/api/images/${image.id}`)).status,
      (status) => status === 404,
      { what: "image gone" },
    );
    expect(await managedContainers(server.orchestratorId, image.id)).toEqual([]);
    const events = (
      await server.request("GET", `/api/events?image_id=${image.id}&type=image.deleted`)
    ).body.items;
    expect(events).toHaveLength(1);
    // Every instance that went with its container was announced once, before its stop.
    const all = await eventsOf(image.id);
    for (const instance of going) {
      expect(removalTail(all, instance.id), instance.id).toEqual(announcedRemoval("image_deleted"));
    }
  });
});
