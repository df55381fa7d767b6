/**
 * Placement with RUNTIME=docker: the one engine is the only node. Constraints are matched
 * against it (docker info: hostname, platform, engine labels; role and node labels when it is
 * in a swarm); while one is not met, no container is created and the image says Unschedulable.
 * `spread` has one node to spread over and changes nothing; nor does a new placement replace
 * running containers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, httpGet } from "../support/docker-helpers.ts";
import { backends, hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.skipIf(!hasDocker()).each(backends())("placement with RUNTIME=docker on %s", (backend) => {
  let server: TestServer;
  let imageId: number;

  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const containersOf = () =>
    docker.listContainers({
      all: true,
      filters: {
        label: [`managed-by=${server.orchestratorId}`, `orchestrator.image-id=${imageId}`],
      },
    });
  const imageBody = async () => (await server.request("GET", `/api/images/${imageId}`)).body;
  const condition = (body: any, type: string) =>
    body.conditions.find((candidate: any) => candidate.type === type);
  const instances = async () =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];

  it("creates no container while the engine does not meet a constraint, and says Unschedulable", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "placed",
        image: testImages.httpd,
        container_port: 8080,
        desired_instances: 2,
        max_instances: 3,
        placement: { constraints: ["node.platform.os==linux", "node.labels.zone==nowhere"] },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    imageId = created.body.id;

    const degraded = await waitFor(
      imageBody,
      (body) => condition(body, "Degraded")?.reason === "Unschedulable",
      { what: "Degraded/Unschedulable", timeoutMs: 60_000 },
    );
    expect(condition(degraded, "Degraded")).toMatchObject({
      status: "True",
      message: expect.stringContaining("node.labels.zone==nowhere is not met by this engine"),
    });
    expect(condition(degraded, "Degraded").message).not.toContain("node.platform.os");
    expect(condition(degraded, "Ready")).toMatchObject({
      status: "False",
      reason: "Unschedulable",
    });
    expect(await containersOf()).toEqual([]);
  });

  it("runs once the placement is one the engine meets; spread is accepted and changes nothing", async () => {
    const hostname = (await docker.info()).Name as string;
    const changed = await server.request("PATCH", `/api/images/${imageId}`, {
      body: {
        placement: {
          constraints: [
            "node.platform.os==linux",
            `node.hostname==${hostname}`,
            "engine.labels.orchestrator-test-absent!=yes",
          ],
          spread: "node.labels.zone",
        },
      },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const running = await waitFor(
      instances,
      (items) =>
        items.length === 2 &&
        items.every((item) => item.observed_state === "running" && item.host_port !== null),
      { what: "2 running instances", timeoutMs: 90_000 },
    );
    for (const instance of running) expect((await httpGet(instance.host_port)).body).toBe("ok\n");
    const ready = await waitFor(imageBody, (body) => condition(body, "Ready")?.status === "True", {
      what: "Ready",
      timeoutMs: 60_000,
    });
    expect(condition(ready, "Degraded").status).toBe("False");

    // A new placement the engine still meets replaces no container (it says where, not how).
    const before = running.map((instance) => instance.container_id).sort();
    expect(
      (
        await server.request("PATCH", `/api/images/${imageId}`, {
          body: { placement: { constraints: ["node.platform.os==linux"] } },
        })
      ).status,
    ).toBe(200);
    const settled = await waitFor(
      imageBody,
      (body) => body.observed_generation === body.generation,
      { what: "the change observed", timeoutMs: 60_000 },
    );
    expect(settled.placement).toEqual({ constraints: ["node.platform.os==linux"], spread: null });
    expect((await instances()).map((instance) => instance.container_id).sort()).toEqual(before);
  });

  it("refuses a bad constraint with 422 naming its index, and changes nothing", async () => {
    const before = await imageBody();
    const refused = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { placement: { constraints: ["node.platform.os==linux", "engine.role==manager"] } },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      {
        path: "placement.constraints[1]",
        message: expect.stringContaining("engine.role is not an attribute Swarm knows"),
      },
    ]);
    const after = await imageBody();
    expect(after.generation).toBe(before.generation);
    expect(after.placement).toEqual(before.placement);
  });
});
