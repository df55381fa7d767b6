/**
 * The image's `rollout` as its Swarm service's UpdateConfig, on a real one-node swarm: mapped
 * at create; a change of `rollout` alone rewrites UpdateConfig and replaces no task (what Swarm
 * does with such an update); a new task that fails pauses the update (FailureAction `pause`,
 * never Swarm's rollback): the old tasks keep serving, Progressing says RolloutFailed, and a
 * spec the old tasks run resumes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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

describe.each(backends())("rollout with RUNTIME=swarm on %s", (backend) => {
  let server: TestServer;
  let imageId: number;

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
        () => serviceOfImage(server.orchestratorId, imageId),
        (service) => service === undefined,
        { ...swarmDeadline, what: "the service gone" },
      ).catch(() => {});
    }
    await server?.stop();
    if (server !== undefined) await removeSwarmLeftovers(server.orchestratorId);
  });

  const serviceOf = () => serviceOfImage(server.orchestratorId, imageId);
  const instances = async () =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const imageBody = async () => (await server.request("GET", `/api/images/${imageId}`)).body;
  const condition = (body: any, type: string) =>
    body.conditions.find((candidate: any) => candidate.type === type);
  const allRunning = (count: number) => (items: any[]) =>
    items.length === count &&
    items.every((item) => item.observed_state === "running" && item.host_port !== null);
  /** Every task of the service, history included. */
  const allTasks = async () =>
    (await docker.listTasks({
      filters: { service: [`${server.orchestratorId}-i${imageId}`] },
    })) as any[];
  const patch = async (body: unknown) =>
    expect((await server.request("PATCH", `/api/images/${imageId}`, { body })).status).toBe(200);

  it("maps rollout onto the service's UpdateConfig and RollbackConfig: start-first, max_surge at a time, Monitor min_ready, pause on failure", async () => {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "rolled",
        image: testImages.httpd,
        container_port: 8080,
        min_instances: 1,
        max_instances: 3,
        desired_instances: 2,
        rollout: { max_surge: 1, max_unavailable: 0, min_ready: "1s" },
      },
    });
    expect(created.status).toBe(201);
    imageId = created.body.id;
    await waitFor(instances, allRunning(2), { ...swarmDeadline, what: "2 running instances" });
    const spec = (await serviceOf())?.Spec as any;
    const expected = {
      Parallelism: 1,
      Order: "start-first",
      Monitor: 1_000_000_000,
      FailureAction: "pause",
      MaxFailureRatio: 0,
    };
    expect(spec.UpdateConfig).toEqual(expected);
    expect(spec.RollbackConfig).toEqual(expected);
  });

  it("a change of rollout alone rewrites UpdateConfig and replaces no task", async () => {
    const before = await waitFor(instances, allRunning(2), swarmDeadline);
    const tasksBefore = (await allTasks()).map((task) => task.ID).sort();
    expect(tasksBefore).toHaveLength(2);

    await patch({ rollout: { max_surge: 0, max_unavailable: "100%", min_ready: "2s" } });
    const service = await waitFor(
      serviceOf,
      (found) => (found?.Spec as any)?.UpdateConfig?.Order === "stop-first",
      { ...swarmDeadline, what: "the service's UpdateConfig rewritten" },
    );
    expect((service?.Spec as any)?.UpdateConfig).toMatchObject({
      Parallelism: 2,
      Order: "stop-first",
      Monitor: 2_000_000_000,
      FailureAction: "pause",
    });
    // The controller saw the generation through; Swarm started no update: the same two tasks
    // (history included) still run, the instances on the same containers.
    await waitFor(
      imageBody,
      (body) =>
        body.observed_generation === body.generation && condition(body, "Ready")?.status === "True",
      { ...swarmDeadline, what: "the new generation observed, Ready" },
    );
    expect((await serviceOf())?.UpdateStatus).toBeUndefined();
    const tasksAfter = await allTasks();
    expect(tasksAfter.map((task) => task.ID).sort()).toEqual(tasksBefore);
    expect(tasksAfter.every((task) => task.Status?.State === "running")).toBe(true);
    expect((await instances()).map((item) => item.container_id).sort()).toEqual(
      before.map((item) => item.container_id).sort(),
    );
  });

  it("a new task that fails pauses the update (no Swarm rollback): the old tasks serve, Progressing says RolloutFailed; the old spec again resumes", async () => {
    await patch({ rollout: { max_surge: 1, max_unavailable: 0, min_ready: "5s" } });
    await waitFor(
      serviceOf,
      (found) => (found?.Spec as any)?.UpdateConfig?.Order === "start-first",
      { ...swarmDeadline, what: "start-first again" },
    );
    const before = await waitFor(instances, allRunning(2), swarmDeadline);

    // A program that is not there: the new task fails before it ever runs. (One that starts and
    // then exits, `sh -c "exit 3"`, may be seen running first; start-first then stops an old
    // task, as Swarm should, and the test would depend on that timing.)
    await patch({ command: ["/no-such-program"] });
    const paused = await waitFor(serviceOf, (found) => found?.UpdateStatus?.State === "paused", {
      ...swarmDeadline,
      what: "Swarm paused the update",
    });
    // Paused, not rolled back: the failing spec stays written, the old tasks still run.
    expect((paused?.Spec as any)?.TaskTemplate?.ContainerSpec?.Args).toEqual(["/no-such-program"]);
    for (const instance of before) {
      const info = await docker.getContainer(instance.container_id).inspect();
      expect(info.State.Running).toBe(true);
      expect((await httpGet(instance.host_port)).body).toBe("ok\n");
    }
    const failed = await waitFor(
      imageBody,
      (body) => condition(body, "Progressing")?.reason === "RolloutFailed",
      { ...swarmDeadline, what: "Progressing RolloutFailed" },
    );
    expect(condition(failed, "Progressing").status).toBe("False");
    expect(condition(failed, "Progressing").message).toContain("Swarm paused the service update");
    expect((await serviceOf())?.Spec?.Labels).toEqual(paused?.Spec?.Labels);

    // The spec the old tasks run: the service is written again, Swarm's update completes.
    await patch({ command: null });
    await waitFor(
      imageBody,
      (body) =>
        body.observed_generation === body.generation &&
        condition(body, "Ready")?.status === "True" &&
        condition(body, "Progressing")?.reason !== "RolloutFailed",
      { ...swarmDeadline, what: "Ready again" },
    );
    const after = await waitFor(instances, allRunning(2), swarmDeadline);
    for (const instance of after) expect((await httpGet(instance.host_port)).body).toBe("ok\n");
    expect((await serviceOf())?.UpdateStatus?.State).not.toBe("paused");
  });
});
