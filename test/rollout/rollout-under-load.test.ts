/**
 * A rollout under load (issue 18): 6 instances roll to a new spec with max_unavailable 0 while a
 * client keeps requesting every instance the API lists as ready (running, healthy, not marked
 * for deletion): not one request fails. On the real engine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, managedContainers } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe("a rollout under load", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  const imageOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}`)).body;
  const instancesOf = async (imageId: number) =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as any[];
  const ready = (image: any) =>
    image.conditions.some((c: any) => c.type === "Ready" && c.status === "True") &&
    image.observed_generation === image.generation;

  it("rolls 6 instances while every instance listed as ready answers every request", async () => {
    const desired = 6;
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "loaded",
        image: testImages.httpd,
        desired_instances: desired,
        max_instances: 8,
        cpu_limit: "0.1",
        memory_limit: "16m",
        // Tolerant probes: a loaded machine must not make a serving instance look unhealthy.
        health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", retries: 3 },
        rollout: { max_surge: 2, max_unavailable: 0, min_ready: "1s", progress_deadline: "5m" },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    await waitFor(() => imageOf(imageId), ready, { what: "Ready", timeoutMs: 120_000 });
    const oldHash = (await managedContainers(server.orchestratorId, imageId))[0]?.Labels[
      labelKeys.specHash
    ];

    let loading = true;
    let requests = 0;
    let fewestReady = desired;
    const failures: string[] = [];
    const failed = new Set<string>();
    let patchedAt = 0;
    const served = new Set<string>();
    const client = (async () => {
      while (loading) {
        const listed = (await instancesOf(imageId)).filter(
          (item) =>
            item.observed_state === "running" &&
            item.health === "healthy" &&
            !item.marked_for_deletion &&
            item.host_port !== null,
        );
        fewestReady = Math.min(fewestReady, listed.length);
        await Promise.all(
          listed.map(async (item) => {
            requests += 1;
            served.add(item.container_id);
            try {
              const response = await fetch(`http://127.0.0.1:${item.host_port}/index.html`, {
                signal: AbortSignal.timeout(5_000),
              });
              await response.text();
              if (response.status !== 200) failures.push(`${item.id}: HTTP ${response.status}`);
            } catch (error) {
              failed.add(item.id);
              failures.push(
                `${item.id} (${item.container_id?.slice(0, 12)}) on ${item.host_port} at +${Math.round(performance.now() - patchedAt)} ms: ${(error as Error).message}`,
              );
            }
          }),
        );
      }
    })();

    patchedAt = performance.now();
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { env: { VERSION: "2" } },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    await waitFor(
      async () => ({
        image: await imageOf(imageId),
        containers: await managedContainers(server.orchestratorId, imageId),
      }),
      ({ image, containers }) =>
        ready(image) &&
        containers.length === desired &&
        containers.every((container) => container.Labels[labelKeys.specHash] !== oldHash),
      { what: "rolled out", timeoutMs: 240_000, intervalMs: 500 },
    );
    loading = false;
    await client;

    const history = await Promise.all(
      [...failed].map(async (id) =>
        (
          (await server.request("GET", `/api/events?instance_id=${id}&limit=100`)).body
            .items as any[]
        ).map((event) => `${id} ${event.time} ${event.type}:${event.data.reason}`),
      ),
    );
    expect(failures, history.flat().join("\n")).toEqual([]);
    // max_unavailable 0: the instances listed as ready never fell below the desired count.
    expect(fewestReady).toBe(desired);
    // The client did reach old and new containers alike, many times.
    expect(requests).toBeGreaterThan(50);
    const now = new Set(
      (await managedContainers(server.orchestratorId, imageId)).map((container) => container.Id),
    );
    expect([...served].filter((id) => now.has(id)).length).toBe(desired);
    expect([...served].filter((id) => !now.has(id)).length).toBeGreaterThanOrEqual(desired);
    for (const id of now) {
      expect((await docker.getContainer(id).inspect()).Config.Env).toContain("VERSION=2");
    }
  }, 400_000);
});
