/**
 * kill -9 of the service while claims pour in: after a restart no instance is claimed twice,
 * every claim that was answered is still its key's (same claim, same instance), a key asking
 * again gets that instance, and every claim in the database has its pool.claimed event.
 */
import { afterAll, describe, expect, it } from "vitest";
import { startKillableService } from "../support/killable-service.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { removeManagedContainers } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

const poolSize = 24;

describe.each(backends())("kill -9 during claims (%s)", (backend) => {
  const orchestratorId = testOrchestratorId("poolcrash");
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await removeManagedContainers(orchestratorId);
  });

  it("hands no instance out twice and honours every answered claim after a restart", async () => {
    const service = await startKillableService({
      backend,
      orchestratorId,
      cleanups,
      env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" },
    });
    const { call } = service;

    const created = await call("POST", "/api/images", {
      name: "workers",
      image: testImages.httpd,
      memory_limit: "16m",
      cpu_limit: "0.1",
      pool: { min_idle: poolSize, max: poolSize },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const imageId = created.body.id as number;
    const idleCount = async () =>
      ((await call("GET", `/api/images/${imageId}/containers`)).body.items as any[]).filter(
        (item) => item.claimed_by === null && item.observed_state === "running",
      ).length;
    await waitFor(idleCount, (count) => count === poolSize, {
      what: `${poolSize} idle`,
      timeoutMs: 180_000,
    });

    // Every key claims twice, all at once; the process dies once a few claims are answered.
    const keys = Array.from({ length: poolSize }, (_, index) => `project-${index}`);
    const answered: Array<{ key: string; body: any }> = [];
    const requests = [...keys, ...keys].map(async (key) => {
      try {
        const answer = await call("POST", `/api/images/${imageId}/claims?wait=30s`, { key });
        if (answer.status === 200) answered.push({ key, body: answer.body });
      } catch {
        // Cut by the kill: never answered, so nothing was promised.
      }
    });
    await waitFor(
      async () => answered.length,
      (count) => count >= 3,
      { intervalMs: 5, what: "the first claims answered" },
    );
    await service.kill9();
    await Promise.all(requests);
    expect(answered.length).toBeGreaterThanOrEqual(3);

    await service.restart();
    const claims = (await call("GET", `/api/claims?image_id=${imageId}`)).body.items as any[];
    // No instance held twice, no key on two instances.
    expect(new Set(claims.map((claim) => claim.instance_id)).size).toBe(claims.length);
    expect(new Set(claims.map((claim) => claim.key)).size).toBe(claims.length);
    // Every answered claim is still its key's: the same claim, on the same instance.
    for (const { key, body } of answered) {
      const held = claims.find((claim) => claim.key === key);
      expect(held, key).toMatchObject({
        claim_id: body.claim_id,
        instance_id: body.instance_id,
        container_id: body.container_id,
      });
    }
    // Every claim that committed has its event (they commit together).
    const events = (
      await call("GET", `/api/events?image_id=${imageId}&type=pool.claimed&limit=1000`)
    ).body.items as any[];
    expect(events.map((event) => event.data.claim_id).sort()).toEqual(
      claims.map((claim) => claim.claim_id).sort(),
    );

    // Asking again: answered keys get their instance, every key gets one, none shared.
    const again = await Promise.all(
      keys.map(async (key) => ({
        key,
        answer: await call("POST", `/api/images/${imageId}/claims?wait=60s`, { key }),
      })),
    );
    expect(
      again.filter(({ answer }) => answer.status !== 200).map(({ answer }) => answer.body),
    ).toEqual([]);
    for (const { key, body } of answered) {
      expect(again.find((entry) => entry.key === key)?.answer.body.instance_id, key).toBe(
        body.instance_id,
      );
    }
    expect(new Set(again.map(({ answer }) => answer.body.instance_id)).size).toBe(poolSize);
  });
});
