import { afterAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { managedContainers, runningContainers } from "../support/docker-helpers.ts";
import { startKillableService } from "../support/killable-service.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { removeManagedContainers } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.each(backends())("kill -9 in the middle of scaling 0 → 20 (%s)", (backend) => {
  const orchestratorId = testOrchestratorId("crash");
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    // The server first (it would recreate what we remove), then its containers.
    for (const cleanup of cleanups.reverse()) await cleanup();
    await removeManagedContainers(orchestratorId);
  });

  it("converges to exactly 20 after a restart: no duplicate, no orphan, every event recorded", async () => {
    const service = await startKillableService({ backend, orchestratorId, cleanups });
    const { call } = service;

    const image = await call("POST", "/api/images", {
      name: "many",
      image: testImages.httpd,
      desired_instances: 0,
      max_instances: 20,
      memory_limit: "16m",
      cpu_limit: "0.1",
    });
    expect(image.status).toBe(201);
    expect(
      (await call("PATCH", `/api/images/${image.body.id}`, { desired_instances: 20 })).status,
    ).toBe(200);

    // Mid-flight: some containers exist, not all.
    const seen = await waitFor(
      () => managedContainers(orchestratorId, image.body.id),
      (list) => list.length >= 3,
      { intervalMs: 20, what: "scaling under way" },
    );
    await service.kill9();
    expect(seen.length).toBeLessThan(20);

    await service.restart();
    await waitFor(
      () => runningContainers(orchestratorId, image.body.id),
      (list) => list.length === 20,
      { timeoutMs: 90_000, what: "20 running" },
    );
    // Give the controller a moment to finish recording, then check everything.
    await waitFor(
      async () =>
        (await call("GET", `/api/images/${image.body.id}/containers`)).body.items as any[],
      (items) => items.length === 20 && items.every((item) => item.observed_state === "running"),
      { what: "20 recorded running" },
    );
    const containers = await managedContainers(orchestratorId, image.body.id);
    expect(containers).toHaveLength(20);
    const instanceIds = containers.map((container) => container.Labels[labelKeys.instanceId]);
    expect(new Set(instanceIds).size).toBe(20);
    const records = (await call("GET", `/api/images/${image.body.id}/containers`)).body
      .items as any[];
    expect(records.map((record) => record.id).sort()).toEqual([...instanceIds].sort());
    expect(records.map((record) => record.container_id).sort()).toEqual(
      containers.map((container) => container.Id).sort(),
    );

    const events = (await call("GET", `/api/events?image_id=${image.body.id}&limit=1000`)).body
      .items as any[];
    for (const container of containers) {
      const own = events
        .filter((event) => event.data.container_id === container.Id)
        .map((event) => event.type);
      expect(own, container.Labels[labelKeys.instanceId]).toEqual([
        "container.created",
        "container.started",
      ]);
    }
  });
});
