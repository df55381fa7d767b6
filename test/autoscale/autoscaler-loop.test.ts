/**
 * The autoscaler loop against a real store and real instances, with samples written by the
 * test and the clock in the test's hands: the move is written with its event, the
 * stabilization window is kept in the loop's memory (a lower recommendation waits it out), and
 * every evaluation is recorded for the API. The service's own autoscaler and monitor are
 * slowed to an hour so that only the samples and rounds of this test count.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Autoscaler, startAutoscaler } from "../../src/autoscaler/autoscaler.ts";
import { createLogger } from "../../src/logger.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe("the autoscaler loop", () => {
  let server: TestServer;
  let autoscaler: Autoscaler;
  let imageId: number;
  let clock = Date.now();

  const running = async (count: number) =>
    waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}/containers`)).body.items,
      (items: any[]) =>
        items.length === count && items.every((item) => item.observed_state === "running"),
      { what: `${count} running instances`, timeoutMs: 60_000 },
    );

  const sample = (instanceIds: readonly string[], cpu: number) =>
    server.service.store.healthSnapshots.insertMany(
      instanceIds.map((instanceId) => ({
        instance_id: instanceId,
        image_id: imageId,
        user_id: 1,
        cpu_usage: cpu,
        memory_usage: 1,
        status: "healthy",
      })),
    );

  let adminId = 1;
  /** An autoscaler of its own, on the service's store, its clock the test's. */
  const autoscalerWithQuota = (instances: number) =>
    startAutoscaler({
      store: server.service.store,
      writeStore: server.service.store,
      logger: createLogger(process.env.TEST_LOG_LEVEL ?? "silent"),
      intervalMs: 3_600_000,
      sampleMaxAgeMs: 3_600_000,
      settings: {
        builtImagePrefix: "loop-test",
        adminUserId: adminId,
        quota: {
          defaults: {
            images: 10,
            instances,
            nanoCpus: 10e9,
            memoryBytes: 10 * 1024 ** 3,
            concurrentBuilds: 1,
          },
          unlimitedUsers: new Set(),
        },
      },
      now: () => clock,
    });

  const image = async () => (await server.request("GET", `/api/images/${imageId}`)).body;

  beforeAll(async () => {
    server = await startTestServer({
      env: { AUTOSCALE_INTERVAL_SECONDS: "3600", HEALTH_INTERVAL_SECONDS: "3600" },
    });
    adminId = (await server.service.store.users.findByName("admin"))?.id ?? 1;
    autoscaler = autoscalerWithQuota(10);
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "looped",
        image: testImages.httpd,
        min_instances: 1,
        max_instances: 4,
        cpu_limit: "0.1",
        memory_limit: "16m",
        autoscale: { metric: "cpu", target: 50, scale_down_stabilization: "1m" },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    imageId = created.body.id;
    await running(1);
  });

  afterAll(async () => {
    await autoscaler?.stop();
    if (imageId !== undefined) {
      await server.request("DELETE", `/api/images/${imageId}`);
      await waitFor(
        async () => (await server.request("GET", `/api/images/${imageId}`)).status,
        (status) => status === 404,
        { what: "the image gone", timeoutMs: 60_000 },
      ).catch(() => undefined);
    }
    await server?.stop();
  });

  it("holds with no samples, moves up with its event, and waits out the window going down", async () => {
    // No sample yet: nothing to go by, the count holds.
    await autoscaler.evaluateAll();
    let view = (await server.request("GET", `/api/images/${imageId}/autoscale`)).body;
    expect(view.current).toMatchObject({ reason: "no_samples", instances: 1, missing: 1 });
    expect((await image()).desired_instances).toBe(1);

    const [first] = (await running(1)).map((item: any) => item.id);
    await sample([first], 100);
    clock += 1_000;
    await autoscaler.evaluateAll();
    expect((await image()).desired_instances).toBe(2);
    const both = (await running(2)).map((item: any) => item.id);

    // Idle now: the samples ask for 1, but 2 was recommended within the minute.
    await sample(both, 5);
    clock += 10_000;
    await autoscaler.evaluateAll();
    view = (await server.request("GET", `/api/images/${imageId}/autoscale`)).body;
    expect(view.current).toMatchObject({
      reason: "scale_down_stabilized",
      recommendation: 1,
      desired_instances: 2,
      instances: 2,
      missing: 0,
    });
    expect((await image()).desired_instances).toBe(2);

    // Past the window: down to 1.
    clock += 61_000;
    await autoscaler.evaluateAll();
    expect((await image()).desired_instances).toBe(1);

    view = (await server.request("GET", `/api/images/${imageId}/autoscale`)).body;
    expect(
      view.decisions.map((decision: any) => [decision.from, decision.to, decision.reason]),
    ).toEqual([
      [2, 1, "scale_down"],
      [1, 2, "scale_up"],
    ]);
    expect(view.decisions[1]).toMatchObject({ metric: "cpu", value: 100, target: 50 });
    expect(view.decisions[0]).toMatchObject({ metric: "cpu", value: 5, target: 50 });
    const audit = await server.request(
      "GET",
      `/api/audit?image_id=${imageId}&action=autoscale.scale`,
    );
    expect(audit.body.items.map((entry: any) => entry.actor)).toEqual(["autoscaler", "autoscaler"]);
  });

  it("keeps the count when a quota refuses the move, and says so", async () => {
    const tight = autoscalerWithQuota(1);
    try {
      const [only] = (await running(1)).map((item: any) => item.id);
      await sample([only], 100);
      clock += 1_000;
      await tight.evaluateAll();
      const view = (await server.request("GET", `/api/images/${imageId}/autoscale`)).body;
      expect(view.current).toMatchObject({ reason: "quota_exceeded", desired_instances: 1 });
      expect(view.decisions).toHaveLength(2);
      expect((await image()).desired_instances).toBe(1);
    } finally {
      await tight.stop();
    }
  });
});
