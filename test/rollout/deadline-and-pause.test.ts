/**
 * The progress deadline and pause of a rollout (issue 18), on the real engine, both backends.
 * A new revision whose instance starts and keeps running but never becomes ready (its health
 * check keeps failing inside a start period of an hour: never healthy, never unhealthy, no
 * crash) makes no progress: after `progress_deadline` the rollout fails with the deadline as its
 * cause and the image rolls back, the old instances serving throughout. While a rollout is
 * paused, a change starts no rollout step (the old containers keep running), a container killed
 * behind the controller's back is still healed, and resuming lets the rollout finish.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../support/docker-helpers.ts";
import { backends } from "../support/services.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import {
  conditionOf,
  rolloutEventsOf,
  runningContainers,
  stepsUntilCompleted,
  twoHttpdInstances,
} from "./rollout-observe.ts";

describe.each(backends())("rollout progress deadline and pause on %s", (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" },
    });
  });
  afterAll(() => server?.stop());

  const imageOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}`)).body;
  const condition = conditionOf;
  const rolloutEvents = (imageId: number) => rolloutEventsOf(server, imageId);
  const running = (imageId: number) => runningContainers(server, imageId);
  const revisionsOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}/revisions`)).body.items as any[];

  const readyForItsGeneration = (image: any) =>
    condition(image, "Ready")?.status === "True" && image.observed_generation === image.generation;

  async function createImage(name: string, extra: Record<string, unknown>): Promise<number> {
    const created = await server.request("POST", "/api/images", {
      body: {
        name,
        ...twoHttpdInstances,
        ...extra,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    await waitFor(() => imageOf(imageId), readyForItsGeneration, {
      what: `${name} Ready`,
      timeoutMs: 180_000,
    });
    return imageId;
  }

  it("fails a rollout that makes no progress within progress_deadline, and rolls it back", async () => {
    const imageId = await createImage("stalled", {
      // Passing at once for the httpd that serves /index.html; failing for ever inside the hour
      // of start period for one that does not (never healthy, never unhealthy).
      health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", start_period: "1h" },
      rollout: { max_surge: 1, max_unavailable: 0, min_ready: "1s", progress_deadline: "20s" },
    });
    const old = await running(imageId);
    expect(old.map((container) => container.mode)).toEqual(["one", "one"]);

    // Revision 2 runs and answers, but 404 for /index.html: never ready, never crashing.
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: {
        env: { MODE: "two" },
        command: ["sh", "-c", "mkdir -p /empty && exec httpd -f -p 8080 -h /empty"],
      },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    // The new instance is up and keeps running, not ready (what the deadline is about).
    await waitFor(
      () => running(imageId),
      (list) => list.some((container) => container.mode === "two"),
      { what: "revision 2's instance running", timeoutMs: 180_000 },
    );

    const rolledBack = await waitFor(
      () => imageOf(imageId),
      (image) =>
        condition(image, "Progressing")?.reason === "RolledBack" && readyForItsGeneration(image),
      { what: "rolled back and Ready", timeoutMs: 300_000 },
    );
    expect(rolledBack.env).toEqual({ MODE: "one" });
    expect(rolledBack.command).toBeNull();
    expect(condition(rolledBack, "Progressing").message).toMatch(
      /as revision 2 failed: no progress for \d+s \(progress_deadline\)/,
    );
    const { events, steps } = await stepsUntilCompleted(server, imageId);
    expect(steps).toEqual([
      ["image.rollout_started", 1, 2],
      ["image.rollout_failed", 1, 2],
      ["image.rolled_back", 2, 3],
      ["image.rollout_completed", 2, 3],
    ]);
    expect(events[1].data.message).toMatch(/^no progress for \d+s \(progress_deadline\)$/);
    const [restored] = await revisionsOf(imageId);
    expect(restored).toMatchObject({ revision: 3, actor: "controller" });
    expect(restored.cause).toMatch(
      /^rollback to revision 1: the rollout of revision 2 failed \(no progress for \d+s \(progress_deadline\)\)$/,
    );
    // The old instances never stopped (max_unavailable 0): the very same containers serve, and
    // the stalled one is gone.
    const after = await waitFor(
      () => running(imageId),
      (list) => list.length === 2,
      { what: "revision 2's instance gone", timeoutMs: 180_000 },
    );
    expect(after.map(({ id, mode }) => ({ id, mode }))).toEqual(
      old.map(({ id, mode }) => ({ id, mode })),
    );
  }, 900_000);

  it("while paused starts no rollout step but heals; resumed, the rollout finishes", async () => {
    const imageId = await createImage("paused", {});
    const post = (path: string) => server.request("POST", `/api/images/${imageId}${path}`);
    const paused = await post("/rollout/pause");
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    const old = await running(imageId);
    expect(old.map((container) => container.mode)).toEqual(["one", "one"]);

    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { env: { MODE: "two" } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    // The controller saw the change (revision 2, its generation observed) and reports the pause.
    expect((await revisionsOf(imageId)).map((revision) => revision.revision)).toEqual([2, 1]);
    const observed = await waitFor(
      () => imageOf(imageId),
      (image) => image.observed_generation === image.generation,
      { what: "the change observed", timeoutMs: 120_000 },
    );
    expect(observed.rollout_paused).toBe(true);
    expect(condition(observed, "Ready")?.status).not.toBe("True");
    expect(condition(observed, "Progressing")).toMatchObject({
      status: "Unknown",
      reason: "RolloutPaused",
      message: expect.stringMatching(/^revision 2 \(from revision 1\) is paused: /),
    });

    // Killed behind its back, an (outdated) container is healed: started again as it was.
    const victim = old[0] as (typeof old)[number];
    await docker.getContainer(victim.id).kill();
    const healed = await waitFor(
      () => running(imageId),
      (list) =>
        list.length === 2 &&
        list.some(
          (container) => container.id === victim.id && container.startedAt !== victim.startedAt,
        ),
      { what: "the killed container started again", timeoutMs: 180_000 },
    );
    // The controller was at work (it healed) and still started no rollout step: the same two
    // containers, on the old spec.
    expect(healed.map(({ id, mode }) => ({ id, mode }))).toEqual(
      old.map(({ id, mode }) => ({ id, mode })),
    );
    expect((await rolloutEvents(imageId)).map((event) => event.type)).not.toContain(
      "image.rollout_completed",
    );

    const resumed = await post("/rollout/resume");
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.rollout_paused).toBe(false);
    await waitFor(() => imageOf(imageId), readyForItsGeneration, {
      what: "revision 2 Ready once resumed",
      timeoutMs: 300_000,
    });
    const rolled = await waitFor(
      () => running(imageId),
      (list) => list.length === 2 && list.every((container) => container.mode === "two"),
      { what: "both instances on revision 2", timeoutMs: 180_000 },
    );
    expect(rolled.map((container) => container.id)).not.toContain(victim.id);
    const { steps } = await stepsUntilCompleted(server, imageId);
    expect(steps).toEqual([
      ["image.rollout_started", 1, 2],
      ["image.rollout_completed", 1, 2],
    ]);
  }, 900_000);
});
