/**
 * The Swarm baseline of `converge --runtime swarm`: `docker service create --replicas N` (the
 * CLI, as a user would), host-mode port 8080, then until every task answers HTTP on its port.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import type { DockerClient } from "../../src/docker/connection.ts";
import { until } from "../support.ts";

const execute = promisify(execFile);

type EngineTask = {
  DesiredState?: string;
  Status?: { State?: string; PortStatus?: { Ports?: Array<{ PublishedPort?: number }> } };
};

/** The first (IPv4) published port of each running task of a service. */
export async function runningTaskPorts(docker: DockerClient, service: string): Promise<number[]> {
  const tasks = (await docker.listTasks({
    filters: { service: [service], "desired-state": ["running"] },
  })) as EngineTask[];
  return tasks
    .filter((task) => task.Status?.State === "running")
    .map((task) => task.Status?.PortStatus?.Ports?.[0]?.PublishedPort ?? 0)
    .filter((port) => port > 0);
}

/** An attachable overlay for the baseline's tasks; returns its removal. */
export async function benchOverlay(): Promise<{ name: string; remove: () => Promise<void> }> {
  const name = `bench-overlay-${randomBytes(3).toString("hex")}`;
  await execute("docker", ["network", "create", "--driver", "overlay", "--attachable", name]);
  return {
    name,
    remove: async () => {
      // The engine detaches a removed service's tasks on its own time.
      await until(
        () =>
          execute("docker", ["network", "rm", name]).then(
            () => true,
            () => false,
          ),
        60_000,
        `network ${name} removed`,
      );
    },
  };
}

/** Until no container with `managed-by={label}` is left (a removed service's go on their own). */
export async function containersGone(docker: DockerClient, label: string): Promise<void> {
  await until(
    async () =>
      (await docker.listContainers({ all: true, filters: { label: [`managed-by=${label}`] } }))
        .length === 0,
    180_000,
    `containers of ${label} removed`,
  );
}

/**
 * `docker service create --replicas N` until every task answers; with `network`, its tasks on
 * that overlay, as the orchestrator's are on their tenant's (attaching each task to an overlay
 * costs the engine time of its own: that baseline tells the controller's overhead alone).
 */
export async function swarmBaseline(
  docker: DockerClient,
  image: string,
  replicas: number,
  allAnswer: (ports: readonly number[]) => Promise<void>,
  network?: string,
): Promise<number> {
  const label = `bench-swarm-${randomBytes(3).toString("hex")}`;
  const started = performance.now();
  await execute("docker", [
    "service",
    "create",
    "--detach",
    "--quiet",
    "--name",
    label,
    "--replicas",
    String(replicas),
    "--label",
    `managed-by=${label}`,
    "--container-label",
    `managed-by=${label}`,
    "--publish",
    "mode=host,target=8080",
    "--limit-cpu",
    "0.1",
    "--limit-memory",
    "16m",
    ...(network === undefined ? [] : ["--network", network]),
    image,
  ]);
  let ports: number[] = [];
  await until(
    async () => {
      ports = await runningTaskPorts(docker, label);
      return ports.length === replicas;
    },
    300_000,
    `${replicas} running tasks`,
  );
  await allAnswer(ports);
  const elapsed = performance.now() - started;
  await execute("docker", ["service", "rm", label]);
  await containersGone(docker, label);
  return elapsed;
}
