/**
 * Automatic rollback (issue 18): a new revision whose instances start, then fail their HTTP
 * health check, fails its rollout and the image returns to the last Ready revision, recorded as
 * a new revision. Sampled every 100 ms, the ready instances of the old revision never drop below
 * desired - max_unavailable; the rollout events come in order with both revision numbers. On
 * both backends, on the real engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { managedContainers } from "../support/docker-helpers.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { conditionOf, rolloutEventsOf, servesThenFails } from "./rollout-observe.ts";

describe.each(backends())("automatic rollback on %s", (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterAll(() => server?.stop());

  const imageOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}`)).body;
  const instancesOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const condition = conditionOf;
  const rolloutEvents = (imageId: number) => rolloutEventsOf(server, imageId);

  it("refuses a rollout that could never move (no surge, no unavailability), changing nothing", async () => {
    const refused = await server.request("POST", "/api/images", {
      body: {
        name: "stuck",
        image: testImages.httpd,
        rollout: { max_surge: 0, max_unavailable: "0%" },
      },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ path: "rollout.max_unavailable" }),
    ]);
    const listed = (await server.request("GET", "/api/images")).body.items as any[];
    expect(listed.map((image) => image.name)).not.toContain("stuck");
  });

  it("rolls back a revision that starts, then fails its health check, keeping the old instances serving", async () => {
    const desired = 3;
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "rollback",
        image: testImages.httpd,
        desired_instances: desired,
        max_instances: 6,
        cpu_limit: "0.2",
        memory_limit: "16m",
        // Tolerant of a loaded machine (a slow answer is no failure); a 404 fails in 3 s.
        health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", retries: 3 },
        // New instances start first; one counts only after 20 s ready (the bad one fails sooner).
        rollout: { max_surge: 1, max_unavailable: 0, min_ready: "20s", progress_deadline: "5m" },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    // With its instances: if it never gets there, the failure shows which one lags, and why.
    await waitFor(
      async () => ({
        image: await imageOf(imageId),
        instances: (await instancesOf(imageId)).map((instance) => ({
          id: instance.id,
          observed_state: instance.observed_state,
          health: instance.health,
          host_port: instance.host_port,
          started_at: instance.started_at,
          probe: instance.probe,
        })),
      }),
      ({ image }) => condition(image, "Ready")?.status === "True",
      { what: "revision 1 Ready", timeoutMs: 120_000 },
    );
    const [first] = await managedContainers(server.orchestratorId, imageId);
    const oldHash = first?.Labels[labelKeys.specHash];
    expect(oldHash).toBeDefined();

    // Sample every 100 ms: the instances that serve (running, healthy) on the old spec.
    let sampling = true;
    const samples: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        const [items, containers] = await Promise.all([
          instancesOf(imageId),
          managedContainers(server.orchestratorId, imageId),
        ]);
        const hashOf = new Map(
          containers.map((container) => [container.Id, container.Labels[labelKeys.specHash]]),
        );
        samples.push(
          items.filter(
            (item) =>
              item.observed_state === "running" &&
              item.health === "healthy" &&
              hashOf.get(item.container_id) === oldHash,
          ).length,
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    // Revision 2 serves for a few seconds, then its index is gone: 404, unhealthy.
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: {
        command: servesThenFails,
      },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);

    const rolledBack = await waitFor(
      () => imageOf(imageId),
      (image) =>
        condition(image, "Progressing")?.reason === "RolledBack" &&
        condition(image, "Ready")?.status === "True" &&
        image.observed_generation === image.generation,
      { what: "rolled back and Ready", timeoutMs: 180_000 },
    );
    // Serving settles on the old spec, then sampling stops.
    const settled = await waitFor(
      () => instancesOf(imageId),
      (items) => items.length === desired,
      { what: `${desired} instances` },
    );
    sampling = false;
    await sampler;

    expect(rolledBack.command).toBeNull();
    expect(condition(rolledBack, "Progressing").message).toMatch(/revision 2 failed/);
    expect(samples.length).toBeGreaterThan(20);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(desired - 0);
    for (const instance of settled) {
      const containers = await managedContainers(server.orchestratorId, imageId);
      const own = containers.find((container) => container.Id === instance.container_id);
      expect(own?.Labels[labelKeys.specHash]).toBe(oldHash);
    }

    // Revision 3 runs revision 1's spec again; its cause names the rollback.
    const revisions = (await server.request("GET", `/api/images/${imageId}/revisions`)).body
      .items as any[];
    expect(revisions.map((revision) => revision.revision)).toEqual([3, 2, 1]);
    expect(revisions[0].cause).toMatch(/^rollback to revision 1: the rollout of revision 2 failed/);
    expect(revisions[0].actor).toBe("controller");
    expect(revisions[0].spec.command).toBeNull();

    const events = await waitFor(
      () => rolloutEvents(imageId),
      (list) => list.some((event) => event.type === "image.rollout_completed"),
      { what: "the rollback's completion" },
    );
    expect(
      events.map((event) => [event.type, event.data.from_revision, event.data.to_revision]),
    ).toEqual([
      ["image.rollout_started", 1, 2],
      ["image.rollout_failed", 1, 2],
      ["image.rolled_back", 2, 3],
      ["image.rollout_completed", 2, 3],
    ]);
    expect(events[1].data.message).toMatch(/fail their health check \(.*404/);
    expect(events[2].data.restored_revision).toBe(1);
  }, 400_000);
});
