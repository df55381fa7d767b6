import type Dockerode from "dockerode";
import { labelKeys } from "../domain/labels.ts";
import type { DockerClient } from "./connection.ts";
import { type ContainerFile, writeContainerFiles } from "./container-files.ts";
import { type CreateContainerRequest, createContainerCreator } from "./create-container.ts";
import { describeImage, type LocalImage, pullImage, type RegistryAuth } from "./images.ts";
import { createNetworks } from "./networks.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";
import { createVolumes, VolumeConflictError, type VolumeRemoval } from "./volumes.ts";

export type { ContainerFile } from "./container-files.ts";
export type { CreateContainerRequest } from "./create-container.ts";
export type { LocalImage, RegistryAuth } from "./images.ts";
export { VolumeConflictError, type VolumeRemoval } from "./volumes.ts";

export type ContainerState =
  | "created"
  | "running"
  | "paused"
  | "restarting"
  | "removing"
  | "exited"
  | "dead";

/** What the controller needs to know about one container. */
export type ContainerSnapshot = {
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly state: ContainerState;
  readonly createdAt: Date;
  /** Published host ports by container port and protocol ("8080/tcp" → 32768). */
  readonly ports: Readonly<Record<string, number>>;
  /** Present when the snapshot came from an inspect. */
  readonly details?: {
    readonly exitCode: number;
    readonly oomKilled: boolean;
    readonly error: string;
    readonly startedAt: Date | null;
    readonly finishedAt: Date | null;
    /** Docker's own HEALTHCHECK verdict, when the container has one. */
    readonly health?: "starting" | "healthy" | "unhealthy" | undefined;
  };
};

export class ContainerNameConflictError extends Error {
  override name = "ContainerNameConflictError";
}

export class ImageNotFoundError extends Error {
  override name = "ImageNotFoundError";
}

/**
 * The engine cannot start a container as it is: its runtime kept a task of the container's last
 * run (seen after an engine restart), or a network it was made with is gone (removed behind our
 * back, or as no image declares it any more). The container can only be replaced.
 */
export class StaleTaskError extends Error {
  override name = "StaleTaskError";
}

/** Docker as the controller sees it: labelled containers and the images they run. */
export type ContainerRuntime = {
  /** Every container carrying managed-by={orchestratorId}, optionally of one image, running or not. */
  listManaged(orchestratorId: string, imageId?: number): Promise<ContainerSnapshot[]>;
  inspect(idOrName: string): Promise<ContainerSnapshot | undefined>;
  /** Creates (does not start) a container; a taken name is a ContainerNameConflictError. */
  create(request: CreateContainerRequest): Promise<string>;
  start(id: string): Promise<void>;
  stop(id: string, timeoutSeconds: number): Promise<void>;
  /** Removes a container (forcefully); a container already gone is fine. */
  remove(id: string): Promise<void>;
  /** The local image a reference names (by name, never by id prefix), or undefined. */
  describeImage(reference: string): Promise<LocalImage | undefined>;
  /** Pulls a reference (with the owner's credentials for its registry); rejects with the engine's message when it cannot. */
  pull(reference: string, auth?: RegistryAuth): Promise<void>;
  /** Writes files into a created container (again: an adopted one may lack them). */
  writeFiles(id: string, files: readonly ContainerFile[]): Promise<void>;
  removeImage(reference: string): Promise<void>;
  /** Removes a network the controller made; one still in use or gone is left alone (false). */
  removeNetwork(name: string): Promise<boolean>;
  /** The networks the controller made for one tenant's declared `networks`. */
  listDeclaredNetworks(orchestratorId: string, userId: number): Promise<DeclaredNetwork[]>;
  /** Removes a tenant's volume by Docker name; one still mounted is left (`in_use`). */
  removeVolume(name: string): Promise<VolumeRemoval>;
};

/** A network made for a tenant's `networks`: its Docker name and the tenant's name for it. */
export type DeclaredNetwork = { readonly name: string; readonly declaredAs: string };

function toDate(value: string | undefined): Date | null {
  if (value === undefined || value.startsWith("0001-")) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function portsFromList(ports: Dockerode.Port[]): Record<string, number> {
  const published: Record<string, number> = {};
  for (const port of ports) {
    const key = `${port.PrivatePort}/${port.Type ?? "tcp"}`;
    if (port.PublicPort !== undefined && port.PublicPort > 0 && published[key] === undefined) {
      published[key] = port.PublicPort;
    }
  }
  return published;
}

function portsFromInspect(
  ports: Dockerode.ContainerInspectInfo["NetworkSettings"]["Ports"] | undefined,
): Record<string, number> {
  const published: Record<string, number> = {};
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const hostPort = Number(bindings?.[0]?.HostPort);
    if (Number.isInteger(hostPort) && hostPort > 0) published[key] = hostPort;
  }
  return published;
}

function snapshotFromInspect(info: Dockerode.ContainerInspectInfo): ContainerSnapshot {
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    labels: info.Config.Labels ?? {},
    state: info.State.Status as ContainerState,
    createdAt: new Date(info.Created),
    ports: portsFromInspect(info.NetworkSettings.Ports),
    details: {
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      error: info.State.Error,
      startedAt: toDate(info.State.StartedAt),
      finishedAt: toDate(info.State.FinishedAt),
      health: (info.State as { Health?: { Status?: string } }).Health?.Status as
        | "starting"
        | "healthy"
        | "unhealthy"
        | undefined,
    },
  };
}

export function createContainerRuntime(
  docker: DockerClient,
  options: { readonly onNoDiskQuota?: (message: string) => void } = {},
): ContainerRuntime {
  const networks = createNetworks(docker);
  const volumes = createVolumes(docker);
  const createContainer = createContainerCreator(
    docker,
    networks,
    volumes,
    options.onNoDiskQuota ?? (() => {}),
  );
  return {
    async listManaged(orchestratorId, imageId) {
      const label = [`${labelKeys.managedBy}=${orchestratorId}`];
      if (imageId !== undefined) label.push(`${labelKeys.imageId}=${imageId}`);
      const containers = await withDockerRetry(() =>
        docker.listContainers({ all: true, filters: { label } }),
      );
      return containers.map((container) => ({
        id: container.Id,
        name: (container.Names[0] ?? "").replace(/^\//, ""),
        labels: container.Labels ?? {},
        state: container.State as ContainerState,
        createdAt: new Date(container.Created * 1000),
        ports: portsFromList(container.Ports ?? []),
      }));
    },

    async inspect(idOrName) {
      try {
        return snapshotFromInspect(
          await withDockerRetry(() => docker.getContainer(idOrName).inspect()),
        );
      } catch (error) {
        if (dockerStatus(error).status === 404) return undefined;
        throw error;
      }
    },

    async create(request) {
      try {
        return await createContainer(request);
      } catch (error) {
        if (error instanceof VolumeConflictError) throw error;
        const { status, message } = dockerStatus(error);
        if (status === 409) throw new ContainerNameConflictError(message);
        if (status === 404 && /no such image/i.test(message)) throw new ImageNotFoundError(message);
        throw error;
      }
    },

    async start(id) {
      const attempt = () => withDockerRetry(() => docker.getContainer(id).start());
      try {
        await attempt();
      } catch (error) {
        const { status, message } = dockerStatus(error);
        if (status === 304) return; // already started
        if (/task [0-9a-f]+: already exists|network \S+ not found/i.test(message)) {
          throw new StaleTaskError(message);
        }
        // Two networks of the tenant's name (a race of two processes): keep one, start again.
        const ambiguous = /network (\S+) is ambiguous/i.exec(message);
        if (ambiguous?.[1] === undefined) throw error;
        await networks.removeDuplicates(ambiguous[1]);
        await attempt();
      }
    },

    async stop(id, timeoutSeconds) {
      try {
        await withDockerRetry(() => docker.getContainer(id).stop({ t: timeoutSeconds }));
      } catch (error) {
        const { status } = dockerStatus(error);
        if (status === 304 || status === 404) return; // already stopped or gone
        throw error;
      }
    },

    async remove(id) {
      try {
        await withDockerRetry(() => docker.getContainer(id).remove({ force: true, v: true }));
      } catch (error) {
        if (dockerStatus(error).status === 404) return;
        throw error;
      }
    },

    describeImage: (reference) => describeImage(docker, reference),

    pull: (reference, auth) => pullImage(docker, reference, auth),
    writeFiles: (id, files) => writeContainerFiles(docker, id, files),

    removeNetwork: (name) => networks.remove(name),

    removeVolume: (name) => volumes.remove(name),
    async listDeclaredNetworks(orchestratorId, userId) {
      const label = [
        `${labelKeys.managedBy}=${orchestratorId}`,
        `${labelKeys.owner}=${userId}`,
        labelKeys.network,
      ];
      const listed = await withDockerRetry(() => docker.listNetworks({ filters: { label } }));
      return listed.map((network) => ({
        name: network.Name,
        declaredAs: network.Labels?.[labelKeys.network] ?? "",
      }));
    },

    async removeImage(reference) {
      try {
        await withDockerRetry(() => docker.getImage(reference).remove({ force: true }));
      } catch (error) {
        if (dockerStatus(error).status === 404) return;
        throw error;
      }
    },
  };
}
