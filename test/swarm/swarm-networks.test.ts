/**
 * The Swarm runtime's overlay networks on a real one-node swarm: two services of one tenant
 * created at once (two reconciles) share the tenant's one overlay, both made; the network goes
 * with the tenant's last service. The adapter is driven directly, without a server.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSwarmRuntime, type ServiceRequest } from "../../src/docker/swarm.ts";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker } from "../support/docker-helpers.ts";
import { ensureSwarm, leaveSwarmIfMade } from "../support/swarm.ts";
import { testImages } from "../support/test-images.ts";
import { waitFor } from "../support/wait.ts";

const orchestratorId = `orch-net-${randomBytes(3).toString("hex")}`;
const overlay = `${orchestratorId}-u1-swarm`;

let swarm: Awaited<ReturnType<typeof ensureSwarm>>;
beforeAll(async () => {
  swarm = await ensureSwarm();
});
afterAll(async () => {
  if (swarm?.ok) {
    const runtime = createSwarmRuntime(docker);
    for (const service of await runtime.listServices(orchestratorId)) {
      await runtime.removeService(service.id);
    }
    await waitFor(
      () =>
        docker.listContainers({ all: true, filters: { label: [`managed-by=${orchestratorId}`] } }),
      (left) => left.length === 0,
      { timeoutMs: 120_000, intervalMs: 500, what: "the services' containers gone" },
    ).catch(() => {});
    for (const network of await docker.listNetworks({
      filters: { label: [`managed-by=${orchestratorId}`] },
    })) {
      await docker
        .getNetwork(network.Id)
        .remove()
        .catch(() => {});
    }
    await leaveSwarmIfMade(swarm.made);
  }
});

function request(imageId: number): ServiceRequest {
  const labels = {
    [labelKeys.managedBy]: orchestratorId,
    [labelKeys.imageId]: String(imageId),
    [labelKeys.owner]: "1",
  };
  return {
    name: `${orchestratorId}-i${imageId}`,
    labels,
    image: testImages.httpd,
    env: {},
    replicas: 0,
    containerPort: 8080,
    ports: [],
    nanoCpus: 100_000_000,
    memoryBytes: 32 * 1024 * 1024,
    pidsLimit: 64,
    networks: [
      { name: overlay, labels: { [labelKeys.managedBy]: orchestratorId, [labelKeys.owner]: "1" } },
    ],
    aliases: [`app${imageId}`],
    command: null,
    entrypoint: null,
    workingDir: null,
    user: null,
    hostname: null,
    stopSignal: null,
    stopGraceSeconds: 1,
    readOnlyRootFilesystem: false,
    init: false,
    capAdd: [],
    mounts: [],
    placement: { constraints: [], spread: null },
    restart: { condition: "any", maxAttempts: 0 },
    update: {
      parallelism: 1,
      order: "start-first",
      monitorMs: 0,
      failureAction: "pause",
      maxFailureRatio: 0,
    },
    secrets: [],
  };
}

describe("overlay networks of the Swarm runtime", () => {
  beforeEach(({ skip }) => {
    if (!swarm.ok) skip(swarm.reason);
  });

  it("makes one overlay for a tenant whose two services are created at once, and removes it after the last", async () => {
    // Two runtimes, as two workers' reconciles share one in the controller: once with one
    // runtime (its in-flight guard), once across two (the engine's own name check).
    const runtime = createSwarmRuntime(docker);
    await Promise.all([runtime.createService(request(1)), runtime.createService(request(2))]);
    const other = createSwarmRuntime(docker);
    await Promise.all([
      other.createService(request(3)),
      createSwarmRuntime(docker).createService(request(4)),
    ]);

    const named = (await docker.listNetworks({ filters: { name: [overlay] } })).filter(
      (network) => network.Name === overlay,
    );
    expect(named).toHaveLength(1);
    expect(named[0]).toMatchObject({ Driver: "overlay", Attachable: true });
    const services = await runtime.listServices(orchestratorId);
    expect(services).toHaveLength(4);
    for (const service of services) {
      const inspected = await docker.getService(service.id).inspect();
      expect(inspected.Spec.TaskTemplate.Networks.map((entry: any) => entry.Target)).toEqual([
        named[0]?.Id,
      ]);
    }
    expect(await runtime.listTenantNetworks(orchestratorId, 1)).toEqual([overlay]);

    // In use: refused (false) and kept; after the last service: removed.
    expect(await runtime.removeNetwork(overlay)).toBe(false);
    for (const service of services) await runtime.removeService(service.id);
    const removed = await waitFor(
      () => runtime.removeNetwork(overlay),
      (done) => done,
      { timeoutMs: 60_000, intervalMs: 500, what: "the overlay removed" },
    );
    expect(removed).toBe(true);
    expect(await runtime.listTenantNetworks(orchestratorId, 1)).toEqual([]);
  });
});
