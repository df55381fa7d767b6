import type { PortMapping } from "../domain/container-options.ts";
import { labelKeys } from "../domain/labels.ts";
import type { DockerClient } from "./connection.ts";
import type { CreateContainerRequest, Mount } from "./create-container.ts";
import { tenantCapabilities } from "./create-container.ts";
import { createNetworks, type NetworkRequest } from "./networks.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

/** An overlay network the controller owns: created on first use, attachable, labelled. */
export type OverlayRequest = NetworkRequest;

/**
 * How Swarm replaces a service's tasks when its spec changes (UpdateConfig; also its
 * RollbackConfig, for an operator's `docker service rollback`).
 */
export type UpdatePolicy = {
  /** Tasks replaced at a time (never 0: Swarm's "all at once"). */
  readonly parallelism: number;
  readonly order: "start-first" | "stop-first";
  /** How long a new task must run before it counts (Swarm's Monitor). */
  readonly monitorMs: number;
  readonly failureAction: "pause" | "continue" | "rollback";
  readonly maxFailureRatio: number;
};

/** Everything one Swarm service of an image is made of (the controller's spec, not the engine's). */
export type ServiceRequest = {
  readonly name: string;
  /** On the service and on every task's container. */
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly containerPort: number;
  /** Ports besides the primary one. */
  readonly ports: readonly PortMapping[];
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  readonly pidsLimit: number;
  readonly networks: readonly OverlayRequest[];
  /** Names other services reach it by on each of its networks. */
  readonly aliases: readonly string[];
  readonly command: readonly string[] | null;
  readonly entrypoint: readonly string[] | null;
  readonly workingDir: string | null;
  readonly user: string | null;
  readonly hostname: string | null;
  readonly stopSignal: string | null;
  readonly stopGraceSeconds: number;
  readonly readOnlyRootFilesystem: boolean;
  readonly init: boolean;
  readonly capAdd: readonly string[];
  readonly mounts: readonly Mount[];
  readonly healthcheck?: CreateContainerRequest["healthcheck"];
  /** Where tasks may run: `node.role==manager`…, and a label to spread them over (or null). */
  readonly placement: {
    readonly constraints: readonly string[];
    readonly spread: string | null;
  };
  /** Swarm restarts tasks itself: `any` (always), `on-failure` (with a bound) or `none`. */
  readonly restart: {
    readonly condition: "any" | "on-failure" | "none";
    readonly maxAttempts: number;
  };
  /** How a changed spec replaces the tasks. */
  readonly update: UpdatePolicy;
};

/** Swarm's task states (docs.docker.com/engine/swarm/how-swarm-mode-works/swarm-task-states). */
export type TaskState =
  | "new"
  | "pending"
  | "assigned"
  | "accepted"
  | "preparing"
  | "ready"
  | "starting"
  | "running"
  | "complete"
  | "shutdown"
  | "failed"
  | "rejected"
  | "remove"
  | "orphaned";

/** What the controller needs to know about one task. */
export type TaskSnapshot = {
  readonly id: string;
  readonly slot: number;
  readonly state: TaskState;
  readonly desiredState: TaskState;
  readonly containerId: string | null;
  readonly exitCode: number | null;
  /** The engine's message for a failed or rejected task ("" when none). */
  readonly error: string;
  /** When the task reached its current state. */
  readonly stateSince: Date;
  readonly createdAt: Date;
  /** The node's hostname (its id when the node is unknown). */
  readonly node: string;
  /** The labels its container carries (the service's container labels). */
  readonly labels: Readonly<Record<string, string>>;
  /** Host-mode published ports by container port and protocol ("8080/tcp" → 30001). */
  readonly ports: Readonly<Record<string, number>>;
};

/** A service as listed: its name, labels, replicas and the version an update must name. */
export type ServiceSnapshot = {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly replicas: number;
  /** Its UpdateConfig as the engine holds it (null when it has none). */
  readonly update: UpdatePolicy | null;
  /** Where Swarm's last update of it stands (`updating`, `paused`, `completed`…); null: none yet. */
  readonly updateStatus: { readonly state: string; readonly message: string } | null;
};

/** Swarm as the controller sees it: services and their tasks, found by label. */
export type SwarmRuntime = {
  /** Whether the engine is a Swarm manager (only managers take service calls). */
  isManager(): Promise<boolean>;
  /** Services carrying managed-by={orchestratorId}, optionally of one image. */
  listServices(orchestratorId: string, imageId?: number): Promise<ServiceSnapshot[]>;
  /** Creates the service (and its networks); a taken name rejects with a 409. */
  createService(request: ServiceRequest): Promise<void>;
  /** Replaces a service's spec; the version is the one last read (a stale one is a 409/500). */
  updateService(service: ServiceSnapshot, request: ServiceRequest): Promise<void>;
  /** Removes a service; one already gone is fine. */
  removeService(idOrName: string): Promise<void>;
  listTasks(serviceName: string): Promise<TaskSnapshot[]>;
  /** Removes an overlay network the controller made; one in use or gone stays (false). */
  removeNetwork(name: string): Promise<boolean>;
  /** The overlay networks the controller made for one tenant. */
  listTenantNetworks(orchestratorId: string, userId: number): Promise<string[]>;
};

function durationNs(ms: number): number {
  return Math.round(ms * 1_000_000);
}

function publishedPorts(request: ServiceRequest) {
  const primary = { container: request.containerPort, protocol: "tcp", host: null } as const;
  const extra = request.ports.filter(
    (port) => !(port.container === request.containerPort && port.protocol === "tcp"),
  );
  // Host mode: the routing mesh needs IPVS, which not every kernel has (and it hides which
  // task answered). Each task publishes on its own node, on a port the engine picks.
  return [primary, ...extra].map((port) => ({
    Protocol: port.protocol as "tcp" | "udp",
    TargetPort: port.container,
    ...(port.host === null || port.host === undefined ? {} : { PublishedPort: port.host }),
    PublishMode: "host" as const,
  }));
}

function engineUpdateConfig(policy: UpdatePolicy) {
  return {
    Parallelism: policy.parallelism,
    Order: policy.order,
    Monitor: durationNs(policy.monitorMs),
    FailureAction: policy.failureAction,
    MaxFailureRatio: policy.maxFailureRatio,
  };
}

type EngineUpdateConfig = {
  Parallelism?: number;
  Order?: string;
  Monitor?: number;
  FailureAction?: string;
  MaxFailureRatio?: number;
};

/** A service's UpdateConfig as a policy; the engine leaves out fields at their zero value. */
export function updatePolicyOf(config: EngineUpdateConfig | undefined): UpdatePolicy | null {
  if (config === undefined) return null;
  return {
    parallelism: config.Parallelism ?? 0,
    order: config.Order === "start-first" ? "start-first" : "stop-first",
    monitorMs: Math.round((config.Monitor ?? 0) / 1_000_000),
    failureAction: (config.FailureAction ?? "pause") as UpdatePolicy["failureAction"],
    maxFailureRatio: config.MaxFailureRatio ?? 0,
  };
}

/** The engine's ServiceSpec for a request. */
export function engineServiceSpec(request: ServiceRequest) {
  const health = request.healthcheck;
  return {
    Name: request.name,
    Labels: { ...request.labels },
    TaskTemplate: {
      ContainerSpec: {
        Image: request.image,
        Labels: { ...request.labels },
        Env: Object.entries(request.env).map(([key, value]) => `${key}=${value}`),
        ...(request.command === null ? {} : { Args: [...request.command] }),
        ...(request.entrypoint === null ? {} : { Command: [...request.entrypoint] }),
        ...(request.workingDir === null ? {} : { Dir: request.workingDir }),
        ...(request.user === null ? {} : { User: request.user }),
        ...(request.hostname === null ? {} : { Hostname: request.hostname }),
        ...(request.stopSignal === null ? {} : { StopSignal: request.stopSignal }),
        StopGracePeriod: request.stopGraceSeconds * 1_000_000_000,
        ReadOnly: request.readOnlyRootFilesystem,
        Init: request.init,
        CapabilityDrop: ["ALL"],
        CapabilityAdd: [...new Set([...tenantCapabilities, ...request.capAdd])],
        Mounts: request.mounts.map((mount) => ({
          Type: mount.type,
          Source: mount.source,
          Target: mount.target,
          ReadOnly: mount.readOnly,
          ...(mount.type === "volume" ? { VolumeOptions: { Labels: { ...mount.labels } } } : {}),
        })),
        ...(health === undefined
          ? {}
          : {
              Healthcheck: {
                Test: [...health.test],
                Interval: durationNs(health.intervalMs),
                Timeout: durationNs(health.timeoutMs),
                Retries: health.retries,
                StartPeriod: durationNs(health.startPeriodMs),
              },
            }),
      },
      Resources: {
        Limits: {
          NanoCPUs: request.nanoCpus,
          MemoryBytes: request.memoryBytes,
          Pids: request.pidsLimit,
        },
      },
      RestartPolicy: {
        Condition: request.restart.condition,
        Delay: 5_000_000_000,
        MaxAttempts: request.restart.maxAttempts,
      },
      Networks: request.networks.map((network) => ({
        Target: network.name,
        Aliases: [...request.aliases],
      })),
      Placement: {
        ...(request.placement.constraints.length === 0
          ? {}
          : { Constraints: [...request.placement.constraints] }),
        ...(request.placement.spread === null
          ? {}
          : { Preferences: [{ Spread: { SpreadDescriptor: request.placement.spread } }] }),
      },
    },
    Mode: { Replicated: { Replicas: request.replicas } },
    UpdateConfig: engineUpdateConfig(request.update),
    RollbackConfig: engineUpdateConfig(request.update),
    EndpointSpec: { Mode: "vip" as const, Ports: publishedPorts(request) },
  };
}

type EngineTask = {
  ID: string;
  Slot?: number;
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Spec?: { ContainerSpec?: { Labels?: Record<string, string> } };
  Status?: {
    State?: string;
    Timestamp?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
    PortStatus?: {
      Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number }>;
    };
  };
};

function taskSnapshot(task: EngineTask, nodes: ReadonlyMap<string, string>): TaskSnapshot {
  const ports: Record<string, number> = {};
  for (const port of task.Status?.PortStatus?.Ports ?? []) {
    if (port.TargetPort === undefined || (port.PublishedPort ?? 0) <= 0) continue;
    // The engine publishes a host-mode port twice, IPv4 first, then IPv6 on another port.
    const key = `${port.TargetPort}/${port.Protocol ?? "tcp"}`;
    if (ports[key] === undefined) ports[key] = port.PublishedPort as number;
  }
  const containerId = task.Status?.ContainerStatus?.ContainerID;
  return {
    id: task.ID,
    slot: task.Slot ?? 0,
    state: (task.Status?.State ?? "new") as TaskState,
    desiredState: (task.DesiredState ?? "running") as TaskState,
    containerId: containerId === undefined || containerId === "" ? null : containerId,
    exitCode: task.Status?.ContainerStatus?.ExitCode ?? null,
    error: task.Status?.Err ?? "",
    stateSince: new Date(task.Status?.Timestamp ?? task.CreatedAt ?? 0),
    createdAt: new Date(task.CreatedAt ?? 0),
    node: nodes.get(task.NodeID ?? "") ?? task.NodeID ?? "",
    labels: task.Spec?.ContainerSpec?.Labels ?? {},
    ports,
  };
}

export function createSwarmRuntime(docker: DockerClient): SwarmRuntime {
  // The container runtime's networks, as overlays: the same in-flight guard when two reconciles
  // ensure one tenant's network at once.
  const overlays = createNetworks(docker, "overlay");

  async function nodeNames(): Promise<Map<string, string>> {
    const nodes = await withDockerRetry(() => docker.listNodes());
    return new Map(
      nodes.map((node) => [node.ID ?? "", node.Description?.Hostname ?? node.ID ?? ""]),
    );
  }

  return {
    async isManager() {
      const info = await withDockerRetry(() => docker.info());
      return info.Swarm?.LocalNodeState === "active" && info.Swarm?.ControlAvailable === true;
    },

    async listServices(orchestratorId, imageId) {
      const label = [`${labelKeys.managedBy}=${orchestratorId}`];
      if (imageId !== undefined) label.push(`${labelKeys.imageId}=${imageId}`);
      const services = await withDockerRetry(() => docker.listServices({ filters: { label } }));
      return services.map((service) => ({
        id: service.ID ?? "",
        name: service.Spec?.Name ?? "",
        version: service.Version?.Index ?? 0,
        labels: service.Spec?.Labels ?? {},
        replicas: service.Spec?.Mode?.Replicated?.Replicas ?? 0,
        update: updatePolicyOf(service.Spec?.UpdateConfig as EngineUpdateConfig | undefined),
        updateStatus:
          service.UpdateStatus?.State === undefined
            ? null
            : { state: service.UpdateStatus.State, message: service.UpdateStatus.Message ?? "" },
      }));
    },

    async createService(request) {
      for (const network of request.networks) await overlays.ensure(network);
      // Not retried: a create that reached the engine and lost its answer would be a 409.
      await docker.createService(engineServiceSpec(request) as never);
    },

    async updateService(service, request) {
      for (const network of request.networks) await overlays.ensure(network);
      // The version is Swarm's optimistic lock: the update applies only to the spec last read.
      await docker.getService(service.id).update({
        _query: { version: service.version },
        _body: engineServiceSpec(request),
      } as never);
    },

    async removeService(idOrName) {
      try {
        await withDockerRetry(() => docker.getService(idOrName).remove());
      } catch (error) {
        if (dockerStatus(error).status === 404) return;
        throw error;
      }
    },

    async listTasks(serviceName) {
      const [tasks, nodes] = await Promise.all([
        withDockerRetry(() => docker.listTasks({ filters: { service: [serviceName] } })),
        nodeNames(),
      ]);
      return (tasks as EngineTask[]).map((task) => taskSnapshot(task, nodes));
    },

    async removeNetwork(name) {
      try {
        return await overlays.remove(name);
      } catch (error) {
        // An overlay a service still names is refused with a 400 ("is in use by service"), one a
        // task still uses (or one being torn down) with a 500.
        const { status, message } = dockerStatus(error);
        if (status === 500 || (status === 400 && /in use/i.test(message))) return false;
        throw error;
      }
    },

    async listTenantNetworks(orchestratorId, userId) {
      const label = [`${labelKeys.managedBy}=${orchestratorId}`, `${labelKeys.owner}=${userId}`];
      const listed = await withDockerRetry(() =>
        docker.listNetworks({ filters: { label, driver: ["overlay"] } }),
      );
      return listed.map((network) => network.Name);
    },
  };
}
