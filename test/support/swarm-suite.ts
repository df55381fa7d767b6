import { afterAll, beforeAll } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker } from "./docker-helpers.ts";
import { ensureSwarm, leaveSwarmIfMade } from "./swarm.ts";
import { waitFor } from "./wait.ts";

/** Swarm schedules, pulls nothing and starts busybox in seconds; a busy machine needs margin. */
export const swarmDeadline = { timeoutMs: 120_000, intervalMs: 500 };

export type SwarmHold = Awaited<ReturnType<typeof ensureSwarm>>;

/**
 * Holds the one-node swarm for the calling file's tests (test/support/swarm.ts: made when the
 * engine is in none, left by the last suite out). Call at the top of a test file; the answer
 * is read inside hooks and tests, once `beforeAll` has run.
 */
export function holdSwarm(): () => SwarmHold {
  let swarm: SwarmHold | undefined;
  beforeAll(async () => {
    swarm = await ensureSwarm();
  });
  afterAll(async () => {
    if (swarm?.ok) await leaveSwarmIfMade(swarm.made);
  });
  return () => swarm ?? { ok: false, reason: "the swarm was not looked for yet" };
}

/**
 * Once a server's services are removed: waits until the engine removed their containers (on
 * its own time), then removes the networks the server made, so that a run leaves nothing.
 */
export async function removeSwarmLeftovers(orchestratorId: string): Promise<void> {
  await waitFor(
    () =>
      docker.listContainers({ all: true, filters: { label: [`managed-by=${orchestratorId}`] } }),
    (left) => left.length === 0,
    { ...swarmDeadline, what: "the service's containers gone" },
  ).catch(() => {});
  const networks = await docker.listNetworks({
    filters: { label: [`managed-by=${orchestratorId}`] },
  });
  for (const network of networks)
    await docker
      .getNetwork(network.Id)
      .remove()
      .catch(() => {});
}

/** The service of one image of a server, as the engine has it (undefined when there is none). */
export async function serviceOfImage(orchestratorId: string, imageId: number) {
  const [service] = await docker.listServices({
    filters: { label: [`managed-by=${orchestratorId}`, `${labelKeys.imageId}=${imageId}`] },
  });
  return service;
}

/** The running tasks Swarm wants running, of one image of a server. */
export async function runningTasksOfImage(orchestratorId: string, imageId: number) {
  return (
    await docker.listTasks({
      filters: { label: [`${labelKeys.imageId}=${imageId}`], "desired-state": ["running"] },
    })
  ).filter(
    (task: any) =>
      task.Spec?.ContainerSpec?.Labels?.[labelKeys.managedBy] === orchestratorId &&
      task.Status?.State === "running",
  );
}
