import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, managedContainers, runningContainers } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe("self-healing", () => {
  let server: TestServer;
  let imageId: number;
  const foreign: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ env: { RESYNC_INTERVAL_SECONDS: "3" } });
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "heal",
        image: testImages.httpd,
        desired_instances: 3,
        memory_limit: "32m",
        cpu_limit: "0.25",
      },
    });
    imageId = created.body.id;
    await waitFor(
      () => runningContainers(server.orchestratorId, imageId),
      (list) => list.length === 3,
      { what: "3 running" },
    );
  });
  afterAll(async () => {
    await Promise.all(
      foreign.map((id) =>
        docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
    await server?.stop();
  });

  const instances = async () =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const eventsOf = async (instanceId: string) =>
    (
      (await server.request("GET", `/api/events?instance_id=${instanceId}&limit=1000`)).body
        .items as any[]
    ).map((event) => `${event.type}:${event.data.reason}`);

  it("restarts a container killed behind its back", async () => {
    const [victim] = await instances();
    await docker.getContainer(victim.container_id).kill();
    const healed = await waitFor(
      async () => (await server.request("GET", `/api/containers/${victim.id}`)).body,
      (body) => body.observed_state === "running" && body.restart_count === 1,
      { what: "restarted" },
    );
    expect(healed.last_exit_code).toBe(137);
    expect(await eventsOf(victim.id)).toEqual([
      "container.created:scale_up",
      "container.started:scale_up",
      "container.failed:crashed",
      "container.started:restart",
    ]);
    expect(await runningContainers(server.orchestratorId, imageId)).toHaveLength(3);
  });

  it("recreates a container removed behind its back", async () => {
    const [, victim] = await instances();
    await docker.getContainer(victim.container_id).remove({ force: true });
    const healed = await waitFor(
      async () => (await server.request("GET", `/api/containers/${victim.id}`)).body,
      (body) => body.observed_state === "running" && body.container_id !== victim.container_id,
      { what: "recreated" },
    );
    expect(healed.name).toBe(victim.name);
    expect((await eventsOf(victim.id)).slice(-4)).toEqual([
      "container.stopped:removed_externally",
      "container.removed:removed_externally",
      "container.created:recreate",
      "container.started:recreate",
    ]);
  });

  it("starts a container stopped behind its back", async () => {
    const [, , victim] = await instances();
    await docker.getContainer(victim.container_id).stop({ t: 1 });
    await waitFor(
      async () => (await docker.getContainer(victim.container_id).inspect()).State.Running,
      (running) => running,
      { what: "running again" },
    );
  });

  it("removes orphans with its names, and never touches other containers, whatever their labels", async () => {
    const make = async (labels: Record<string, string>, name?: string) => {
      const container = await docker.createContainer({
        Image: testImages.httpd,
        Labels: labels,
        ...(name === undefined ? {} : { name }),
      });
      // The controller may remove an orphan between our create and start: that is the point.
      await container.start().catch(() => {});
      return container.id;
    };
    const ours = {
      [labelKeys.managedBy]: server.orchestratorId,
      [labelKeys.imageId]: String(imageId),
    };
    // Left by a crash between "create" and "record": our name, our labels, no instance row.
    const orphan = await make(
      { ...ours, [labelKeys.instanceId]: "zzzzzzzzzz" },
      `${server.orchestratorId}-heal-zzzzzzzzzz`,
    );
    // Our labels on a container we did not name (a Dockerfile LABEL does this): not ours.
    const labelled = await make({ ...ours, [labelKeys.instanceId]: "xxxxxxxxxx" });
    const labelOnly = await make({ [labelKeys.managedBy]: server.orchestratorId });
    const otherController = await make({
      [labelKeys.managedBy]: "someone-else",
      [labelKeys.imageId]: String(imageId),
      [labelKeys.instanceId]: "yyyyyyyyyy",
    });
    const unlabelled = await make({});
    foreign.push(labelled, labelOnly, otherController, unlabelled);

    await waitFor(
      async () => (await managedContainers(server.orchestratorId)).map((container) => container.Id),
      (ids) => !ids.includes(orphan),
      { what: "the orphan removed" },
    );
    // Several resyncs later, the others are still there and running.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    for (const id of [labelled, labelOnly, otherController, unlabelled]) {
      expect((await docker.getContainer(id).inspect()).State.Running, id).toBe(true);
    }
    const named = (await instances()).map((instance) => instance.container_id);
    expect(named).toHaveLength(3);
    expect(named).not.toContain(labelled);
    // Gone before the next tests count the image's containers by label.
    for (const id of [labelled, labelOnly]) await docker.getContainer(id).remove({ force: true });
  });

  it("replaces containers whose spec drifted, a few at a time, until all run the new spec", async () => {
    const before = await instances();
    const hashes = async () =>
      (await managedContainers(server.orchestratorId, imageId)).map(
        (container) => container.Labels[labelKeys.specHash],
      );
    const oldHash = (await hashes())[0];
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { env: { COLOR: "blue" } },
    });
    expect(patched.status).toBe(200);
    const image = await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).body,
      (body) =>
        body.observed_generation === body.generation &&
        body.conditions.some(
          (condition: any) => condition.type === "Ready" && condition.status === "True",
        ),
      { what: "rolled out", timeoutMs: 60_000 },
    );
    expect(image.generation).toBe(patched.body.generation);
    const containers = await runningContainers(server.orchestratorId, imageId);
    expect(containers).toHaveLength(3);
    for (const container of containers) {
      expect(container.Labels[labelKeys.specHash]).not.toBe(oldHash);
      const info = await docker.getContainer(container.Id).inspect();
      expect(info.Config.Env).toContain("COLOR=blue");
    }
    // Same instances, new containers.
    const after = await instances();
    expect(after.map((instance) => instance.id).sort()).toEqual(
      before.map((instance) => instance.id).sort(),
    );
    for (const instance of after) {
      expect((await eventsOf(instance.id)).slice(-4)).toEqual([
        "container.stopped:spec_changed",
        "container.removed:spec_changed",
        "container.created:replace",
        "container.started:replace",
      ]);
    }
  });
});
