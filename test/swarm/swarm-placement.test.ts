import { randomBytes } from "node:crypto";
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

/** A node label of this run only (other suites may share the swarm), added and removed here. */
const runZone = `orchestrator-test-zone-${randomBytes(3).toString("hex")}`;

const swarm = holdSwarm();

/** Adds (value) or removes (undefined) a zone label of this run on the engine's own node. */
async function setZone(zoneKey: string, value: string | undefined): Promise<void> {
  const nodeId = (await docker.info()).Swarm?.NodeID as string;
  const node = docker.getNode(nodeId);
  const inspected = (await node.inspect()) as any;
  const labels = { ...(inspected.Spec?.Labels ?? {}) };
  if (value === undefined) delete labels[zoneKey];
  else labels[zoneKey] = value;
  await node.update({
    _query: { version: inspected.Version.Index },
    _body: { ...inspected.Spec, Labels: labels },
  } as never);
}

describe.each(backends())("placement with RUNTIME=swarm on %s", (backend) => {
  let server: TestServer;
  let imageId: number;
  /** Each block its own label: one block's cleanup never touches another's tasks. */
  const zoneKey = `${runZone}-${backend}`;

  beforeEach(({ skip }) => {
    const hold = swarm();
    if (!hold.ok) skip(hold.reason);
  });
  beforeAll(async () => {
    if (!swarm().ok) return;
    server = await startTestServer({ backend, env: { RUNTIME: "swarm" } });
  });
  afterAll(async () => {
    if (imageId !== undefined) await server?.request("DELETE", `/api/images/${imageId}`);
    if (server !== undefined) {
      await waitFor(
        () => docker.listServices({ filters: { label: [`managed-by=${server.orchestratorId}`] } }),
        (left) => left.length === 0,
        { ...swarmDeadline, what: "the service gone" },
      ).catch(() => {});
    }
    await server?.stop();
    if (swarm().ok) await setZone(zoneKey, undefined).catch(() => {});
    if (server !== undefined) await removeSwarmLeftovers(server.orchestratorId);
  });

  const instances = async () =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const imageBody = async () => (await server.request("GET", `/api/images/${imageId}`)).body;
  const condition = (body: any, type: string) =>
    body.conditions.find((candidate: any) => candidate.type === type);
  const serviceOf = () => serviceOfImage(server.orchestratorId, imageId);
  const runningTasks = () => runningTasksOfImage(server.orchestratorId, imageId);

  it("refuses a bad placement with 422 naming the constraint's index, and creates nothing", async () => {
    const refused = await server.request("POST", "/api/images", {
      body: {
        name: "misplaced",
        image: testImages.httpd,
        placement: { constraints: ["node.role==manager", "node.zone==a"], spread: "node.id" },
      },
    });
    expect(refused.status).toBe(422);
    const paths = (refused.body.errors as any[]).map((error) => error.path).sort();
    expect(paths).toEqual(["placement.constraints[1]", "placement.spread"]);
    expect(
      (refused.body.errors as any[]).find((error) => error.path === "placement.constraints[1]")
        .message,
    ).toContain("node.zone is not an attribute Swarm knows");
    const listed = (await server.request("GET", "/api/images")).body.items as any[];
    expect(listed.some((image) => image.name === "misplaced")).toBe(false);
  });

  it("runs no task for a constraint no node meets, and says Unschedulable", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "placed",
        image: testImages.httpd,
        container_port: 8080,
        max_instances: 4,
        desired_instances: 2,
        placement: { constraints: ["node.labels.zone == nowhere"] },
        // Start-first (the last test: a new placement no node meets stops no old task first).
        rollout: { max_surge: 1, max_unavailable: 0 },
      },
    });
    expect(created.status).toBe(201);
    imageId = created.body.id;
    expect(created.body.placement).toEqual({
      constraints: ["node.labels.zone==nowhere"],
      spread: null,
    });

    const degraded = await waitFor(
      imageBody,
      (body) => condition(body, "Degraded")?.reason === "Unschedulable",
      { ...swarmDeadline, what: "Degraded/Unschedulable" },
    );
    expect(condition(degraded, "Degraded")).toMatchObject({
      status: "True",
      message: expect.stringContaining("no node their placement allows"),
    });
    expect(condition(degraded, "Ready").status).toBe("False");
    const waiting = await instances();
    expect(waiting).toHaveLength(2);
    for (const instance of waiting) {
      expect(instance.observed_state).not.toBe("running");
      expect(instance.container_id).toBeNull();
      expect(instance.last_error).toMatch(/^unschedulable: no suitable node/);
    }
    expect(await runningTasks()).toEqual([]);
    const placement = (await serviceOf())?.Spec?.TaskTemplate?.Placement as any;
    expect(placement.Constraints).toEqual(["node.labels.zone==nowhere"]);
  });

  it("converges once the placement changes to one the node meets; the service's Placement is the spec's", async () => {
    await setZone(zoneKey, "a");
    const hashBefore = (await serviceOf())?.Spec?.Labels?.[labelKeys.specHash];
    const changed = await server.request("PATCH", `/api/images/${imageId}`, {
      body: {
        placement: {
          constraints: ["node.role==manager", `node.labels.${zoneKey}==a`],
          spread: `node.labels.${zoneKey}`,
        },
      },
    });
    expect(changed.status).toBe(200);

    const running = await waitFor(
      instances,
      (items) =>
        items.length === 2 &&
        items.every((item) => item.observed_state === "running" && item.host_port !== null),
      { ...swarmDeadline, what: "2 running instances" },
    );
    for (const instance of running) expect((await httpGet(instance.host_port)).body).toBe("ok\n");
    expect(await runningTasks()).toHaveLength(2);

    const service = await serviceOf();
    expect(service?.Spec?.Labels?.[labelKeys.specHash]).not.toBe(hashBefore);
    expect((service?.Spec?.TaskTemplate as any)?.Placement).toEqual({
      Constraints: ["node.role==manager", `node.labels.${zoneKey}==a`],
      Preferences: [{ Spread: { SpreadDescriptor: `node.labels.${zoneKey}` } }],
    });
    const ready = await waitFor(imageBody, (body) => condition(body, "Ready")?.status === "True", {
      ...swarmDeadline,
      what: "Ready",
    });
    expect(condition(ready, "Degraded")).toMatchObject({ status: "False" });
  });

  it("a change to a placement no node meets keeps the running tasks (start-first) and says Unschedulable", async () => {
    const before = await instances();
    const containers = before.map((instance) => instance.container_id).sort();
    const tasksBefore = (await runningTasks()).map((task: any) => task.ID).sort();
    expect(tasksBefore).toHaveLength(2);
    const changed = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { placement: { constraints: [`node.labels.${zoneKey}==b`] } },
    });
    expect(changed.status).toBe(200);
    const degraded = await waitFor(
      imageBody,
      (body) =>
        condition(body, "Degraded")?.reason === "Unschedulable" &&
        body.observed_generation === body.generation,
      { ...swarmDeadline, what: "Degraded/Unschedulable" },
    );
    expect(condition(degraded, "Ready").status).toBe("False");
    expect(condition(degraded, "Degraded").message).toContain("no suitable node");
    const placement = (await serviceOf())?.Spec?.TaskTemplate?.Placement as any;
    expect(placement).toEqual({ Constraints: [`node.labels.${zoneKey}==b`] });
    // Swarm's update starts each new task before it stops the old one, and no new task is
    // placed: the old ones keep running (unless Swarm's constraint enforcer stops them on a node
    // change, which this engine was seen to do). An old task that still runs is still its
    // instance, with no end recorded (events read first: a task that runs after them ran then).
    const events = (await server.request("GET", `/api/events?image_id=${imageId}&limit=1000`)).body
      .items as any[];
    const after = await instances();
    let stillRunning = 0;
    for (const containerId of containers) {
      const state = await docker
        .getContainer(containerId)
        .inspect()
        .then((info) => info.State.Running)
        .catch(() => false);
      if (!state) continue;
      stillRunning += 1;
      expect(after.find((instance) => instance.container_id === containerId)).toMatchObject({
        observed_state: "running",
      });
      expect(
        events.filter(
          (event) =>
            event.data.container_id === containerId &&
            (event.type === "container.stopped" || event.type === "container.removed"),
        ),
      ).toEqual([]);
    }
    // Nothing new runs: each task running now is one of the old ones.
    const runningNow = (await runningTasks()).map((task: any) => task.ID);
    expect(runningNow.every((id: string) => tasksBefore.includes(id))).toBe(true);
    expect(runningNow.length).toBeLessThanOrEqual(stillRunning);
  });

  it("refuses a bad change with 422 and keeps the placement it had", async () => {
    const before = await imageBody();
    const refused = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { placement: { constraints: ["node.labels.zone!=a", "node.role==boss"] } },
    });
    expect(refused.status).toBe(422);
    expect((refused.body.errors as any[]).map((error) => error.path)).toEqual([
      "placement.constraints[1]",
    ]);
    const after = await imageBody();
    expect(after.generation).toBe(before.generation);
    expect(after.placement).toEqual(before.placement);
  });
});
