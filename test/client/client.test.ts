/**
 * The typed client (`orchestrator/client`) against the real service on the real engine:
 * routes and types, errors with their codes and the earlier library's names, events as an
 * async iterator and as an emitter, no event lost or repeated across a server restart, and the
 * earlier library's helpers (startMany in dependency order, waitFor, isHealthy, stopAll).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MetricsSample,
  Orchestrator,
  OrchestratorError,
  type OrchestratorEvent,
} from "../../src/client/index.ts";
import { packageVersion } from "../../src/package-version.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe.runIf(hasDocker())("the typed client", () => {
  let server: TestServer;
  let client: Orchestrator;
  beforeAll(async () => {
    // Samples every 2 s, for the metrics on the stream.
    server = await startTestServer({ env: { HEALTH_INTERVAL_SECONDS: "2" } });
    const token = await server.createUser("alice");
    client = new Orchestrator({ url: server.url, token });
  });
  afterAll(async () => {
    client?.close();
    await server?.stop();
  });

  it("creates, reads and changes images with typed answers", async () => {
    const image = await client.images.create({
      name: "plain",
      image: testImages.httpd,
      desired_instances: 0,
    });
    expect(["pending", "ready"]).toContain(image.status);
    const changed = await client.images.update(image.id, { desired_instances: 0, env: { A: "1" } });
    expect(changed.generation).toBe(image.generation + 1);
    expect((await client.images.list()).map((listed) => listed.name)).toContain("plain");
    expect((await client.whoami()).user).toBe("alice");
    expect(await client.version()).toEqual({
      version: packageVersion(),
      api_version: "1.0.0",
      node: process.version,
    });
  });

  it("throws OrchestratorError with status, code, problem and the earlier library's names", async () => {
    const missing = await client.images.get(999_999).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(OrchestratorError);
    const error = missing as OrchestratorError;
    expect(error.status).toBe(404);
    expect(error.is("IMAGE_NOT_FOUND")).toBe(true);
    expect(error.legacyCode).toBe("IMAGE_NOT_FOUND");
    expect(error.problem?.instance).toBe("/api/images/999999");
    expect(error.is("NOT_FOUND")).toBe(true);
    expect(error.is("not_found")).toBe(true);

    const invalid = (await client.images
      .create({ name: "Bad Name", image: testImages.httpd })
      .catch((caught: unknown) => caught)) as OrchestratorError;
    expect(invalid.code).toBe("validation_failed");
    expect(invalid.problem?.errors?.[0]?.path).toBe("name");

    const small = await client.images.create({
      name: "small",
      image: testImages.httpd,
      desired_instances: 0,
      max_instances: 1,
    });
    const tooMany = (await client.containers
      .add(small.id, 2)
      .catch((caught: unknown) => caught)) as OrchestratorError;
    expect(tooMany.status).toBe(409);
    expect(tooMany.code).toBe("max_instances_exceeded");
    expect(tooMany.is("MAX_INSTANCES_EXCEEDED")).toBe(true);
    expect(tooMany.is("PORT_IN_USE")).toBe(false);

    const away = new Orchestrator({ url: "http://127.0.0.1:9", token: "x" });
    const unreachable = (await away.images
      .list()
      .catch((caught: unknown) => caught)) as OrchestratorError;
    expect(unreachable.code).toBe("unreachable");
    expect(unreachable.status).toBe(0);
  });

  it("claims a pooled instance, renews, lists, releases and destroys through typed methods", async () => {
    const image = await client.images.create({
      name: "pooled",
      image: testImages.httpd,
      memory_limit: "16m",
      cpu_limit: "0.1",
      pool: { min_idle: 1, max: 2, claim_ttl: "10m" },
    });
    expect(image.pool).toMatchObject({ min_idle: 1, max: 2 });
    const claim = await client.claims.claim(image.id, "project-1", { waitMs: 120_000 });
    expect(claim).toMatchObject({ key: "project-1", image_id: image.id });
    expect(claim.url).toMatch(/^http:\/\/[^:]+:\d+$/);
    const again = await client.claims.claim(image.id, "project-1");
    expect(again.instance_id).toBe(claim.instance_id);
    const claimId = claim.claim_id ?? "";

    const instance = await client.containers.get(claim.instance_id);
    expect(instance.claimed_by).toBe("project-1");
    expect(instance.claim_id).toBe(claimId);
    const counted = (await client.images.listWithContainers()).find((i) => i.id === image.id);
    expect(counted?.containers.claimed).toBe(1);

    const renewed = await client.claims.renew(claimId, "1h");
    expect(Date.parse(renewed.expires_at ?? "")).toBeGreaterThan(
      Date.parse(claim.expires_at ?? ""),
    );
    expect((await client.claims.get(claimId)).instance_id).toBe(claim.instance_id);
    expect((await client.claims.list({ key: "project-1" })).map((c) => c.claim_id)).toEqual([
      claimId,
    ]);
    const released = await client.claims.release(claimId);
    expect(released).toMatchObject({ claim_id: claimId, released: true });
    expect(await client.claims.releaseKey("project-1")).toEqual([]);
    const gone = (await client.claims.get(claimId).catch((e: unknown) => e)) as OrchestratorError;
    expect(gone.status).toBe(404);

    const destroyed = await client.containers.destroy(claim.instance_id);
    expect(destroyed.id).toBe(claim.instance_id);
    expect(destroyed.marked_for_deletion).toBe(true);
    await client.images.delete(image.id);
  });

  it("streams events as an async iterator and to typed handlers", async () => {
    const abort = new AbortController();
    const seen: OrchestratorEvent[] = [];
    const started: OrchestratorEvent[] = [];
    const all: OrchestratorEvent[] = [];
    const offStarted = client.on("started", (event) => started.push(event));
    const offAll = client.on("*", (event) => all.push(event));
    const image = await client.images.create({
      name: "streamed",
      image: testImages.httpd,
      desired_instances: 0,
    });
    const reading = (async () => {
      for await (const event of client.events({
        image: image.id,
        signal: abort.signal,
        after: 0,
      })) {
        seen.push(event);
        if (seen.filter((e) => e.type === "container.started").length === 2) break;
      }
    })();
    const added = await client.containers.add(image.id, 2);
    expect(added.items).toHaveLength(2);
    await reading;
    abort.abort();
    expect(seen.map((event) => event.type)).toEqual(
      expect.arrayContaining(["image.scaled", "container.created", "container.started"]),
    );
    const seqs = seen.map((event) => event.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    await waitFor(
      async () => started.filter((event) => event.image_id === image.id).length,
      (count) => count === 2,
      { what: "two started events to the handler", timeoutMs: 60_000 },
    );
    expect(started.every((event) => event.type === "container.started")).toBe(true);
    expect(all.length).toBeGreaterThan(started.length);
    offStarted();
    offAll();
  });

  it("streams resource samples on request, to the iterator and to metrics handlers", async () => {
    const image = await client.images.create({
      name: "sampled",
      image: testImages.httpd,
      desired_instances: 1,
      memory_limit: "32m",
    });
    const handled: MetricsSample[] = [];
    const off = client.on("metrics", (sample) => handled.push(sample));
    const abort = new AbortController();
    let sample: MetricsSample | undefined;
    for await (const item of client.events({
      image: image.id,
      metrics: true,
      signal: abort.signal,
    })) {
      // A sample taken before the container runs says `stopped`: wait for one of it running.
      if (item.type === "metrics" && item.status !== "stopped") {
        sample = item;
        break;
      }
    }
    abort.abort();
    expect(sample?.image_id).toBe(image.id);
    expect(sample?.status).toBe("healthy");
    for (const field of ["cpu_usage", "memory_bytes", "network_rx_bytes", "block_read_bytes"]) {
      expect(sample, field).toHaveProperty(field);
    }
    await waitFor(
      async () => handled.length,
      (count) => count > 0,
      {
        what: "a sample to the metrics handler",
        timeoutMs: 60_000,
      },
    );
    off();
    // Never in the log (and so never on Kafka).
    const log = await client.eventLog({ image: image.id, limit: 1000 });
    expect(log.items.every((event) => (event.type as string) !== "metrics")).toBe(true);
  });

  it("starts a set in dependency order, waits, tells health, and stops it in reverse", async () => {
    const images = await client.startMany([
      {
        name: "web",
        image: testImages.httpd,
        desired_instances: 1,
        depends_on: [{ name: "db", condition: "started" }],
      },
      { name: "db", image: testImages.httpd, desired_instances: 1 },
    ]);
    expect(images.map((image) => image.name)).toEqual(["db", "web"]);
    const instances = await client.images.containers(images[1]?.id as number);
    expect(instances).toHaveLength(1);
    expect(await client.isHealthy(instances[0]?.id as string)).toBe(true);
    const ready = await client.waitFor("web", "Ready");
    expect(ready.conditions.find((condition) => condition.type === "Ready")?.status).toBe("True");
    await client.stopAll();
    for (const image of images) {
      expect(await client.images.containers(image.id)).toEqual([]);
      expect((await client.images.get(image.id)).desired_instances).toBe(0);
    }
  });
});

describe.runIf(hasDocker())("the client's event stream across a server restart", () => {
  it("loses no event and repeats none", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "orch-client-"));
    const orchestratorId = testOrchestratorId("client");
    let server = await startTestServer({ dataDir, orchestratorId });
    const port = new URL(server.url).port;
    try {
      const client = new Orchestrator({ url: server.url, token: server.adminToken });
      const image = await client.images.create({
        name: "restarted",
        image: testImages.httpd,
        desired_instances: 0,
        max_instances: 20,
      });
      const abort = new AbortController();
      const seen: OrchestratorEvent[] = [];
      const scaledTo = (count: number) =>
        seen.some(
          (event) => event.type === "image.scaled" && event.data.desired_instances === count,
        );
      const reading = (async () => {
        for await (const event of client.events({
          image: image.id,
          types: ["image.scaled"],
          after: 0,
          signal: abort.signal,
          reconnectDelayMs: 100,
        })) {
          seen.push(event);
          if (scaledTo(6)) return;
        }
      })();
      for (const count of [1, 2, 3]) {
        await client.images.update(image.id, { desired_instances: count });
      }
      await waitFor(async () => scaledTo(3), Boolean, { what: "the first events" });

      await server.stop();
      server = await startTestServer({ dataDir, orchestratorId, env: { PORT: port } });
      expect(server.url).toBe(client.url);
      for (const count of [4, 5, 6]) {
        await client.images.update(image.id, { desired_instances: count });
      }
      await reading;
      abort.abort();
      const log = await client.eventLog({ image: image.id, types: ["image.scaled"], after: 0 });
      expect(seen.map((event) => event.seq)).toEqual(log.items.map((event) => event.seq));
      expect(new Set(seen.map((event) => event.id)).size).toBe(seen.length);
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
