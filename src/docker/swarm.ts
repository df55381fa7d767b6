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

/**
 * A Docker secret a service's tasks receive as a file. Swarm's secrets are immutable: a new value
 * is a new name (the reconciler names one per secret version), made on first use.
 */
export type ServiceSecret = {
  /** The Docker secret's name (the swarm's namespace: unique per image, secret and version). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The value, only for the create call: never stored, logged or hashed. */
  readonly value: string;
  /** Where it appears in the container (an absolute path), and its mode. */
  readonly target: string;
  readonly mode: number;
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
  /** Secret files, as Docker secrets (env values from secrets are in `env`). */
  readonly secrets: readonly ServiceSecret[];
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
  /** The node's address (Node.Status.Addr; null when unknown). */
  readonly nodeAddress: string | null;
  /** Whether the node is the engine the controller talks to. */
  readonly onLocalNode: boolean;
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
  /**
   * Removes the Docker secrets made for one image whose names are not kept; one a service still
   * names stays (Swarm refuses it), as does one already gone.
   */
  removeUnusedSecrets(
    orchestratorId: string,
    imageId: number,
    keep: ReadonlySet<string>,
  ): Promise<void>;
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

/** The engine's ServiceSpec for a request, given the id of each of its secrets (by name). */
export function engineServiceSpec(
  request: ServiceRequest,
  secretIds: ReadonlyMap<string, string> = new Map(),
) {
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
        ...(request.secrets.length === 0
          ? {}
          : {
              Secrets: request.secrets.map((secret) => ({
                SecretID: secretIds.get(secret.name) ?? "",
                SecretName: secret.name,
                File: { Name: secret.target, UID: "0", GID: "0", Mode: secret.mode },
              })),
            }),
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

/** What a task needs to know of the nodes: hostname and address by id, and the engine's own. */
type NodeView = {
  readonly nodes: ReadonlyMap<
    string,
    { readonly hostname: string; readonly address: string | null }
  >;
  readonly localNodeId: string;
};

function taskSnapshot(task: EngineTask, view: NodeView): TaskSnapshot {
  const node = view.nodes.get(task.NodeID ?? "");
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
    node: node?.hostname ?? task.NodeID ?? "",
    nodeAddress: node?.address ?? null,
    onLocalNode: task.NodeID !== undefined && task.NodeID === view.localNodeId,
    labels: task.Spec?.ContainerSpec?.Labels ?? {},
    ports,
  };
}

export function createSwarmRuntime(docker: DockerClient): SwarmRuntime {
  // The container runtime's networks, as overlays: the same in-flight guard when two reconciles
  // ensure one tenant's network at once.
  const overlays = createNetworks(docker, "overlay");

  /** The engine's own node id: read once (a node keeps its id while it is in the swarm). */
  let localNodeId: string | undefined;

  async function nodeView(): Promise<NodeView> {
    const nodes = await withDockerRetry(() => docker.listNodes());
    const byId = new Map(
      nodes.map((node) => [
        node.ID ?? "",
        {
          hostname: node.Description?.Hostname ?? node.ID ?? "",
          address: node.Status?.Addr ?? null,
        },
      ]),
    );
    if (localNodeId === undefined || !byId.has(localNodeId)) {
      const info = await withDockerRetry(() => docker.info());
      localNodeId = (info.Swarm?.NodeID as string | undefined) ?? "";
    }
    return { nodes: byId, localNodeId };
  }

  /** Each secret's id, made when the swarm has none of its name (a name is one value: immutable). */
  async function ensureSecrets(secrets: readonly ServiceSecret[]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const secret of secrets) {
      if (ids.has(secret.name)) continue;
      ids.set(secret.name, await ensureSecret(secret));
    }
    return ids;
  }

  async function findSecret(name: string): Promise<string | undefined> {
    const listed = await withDockerRetry(() => docker.listSecrets({ filters: { name: [name] } }));
    // The name filter matches prefixes: the exact one only.
    return listed.find((secret) => secret.Spec?.Name === name)?.ID;
  }

  async function ensureSecret(secret: ServiceSecret): Promise<string> {
    const existing = await findSecret(secret.name);
    if (existing !== undefined) return existing;
    try {
      const created = (await docker.createSecret({
        Name: secret.name,
        Labels: { ...secret.labels },
        Data: Buffer.from(secret.value, "utf8").toString("base64"),
      })) as { id?: string; ID?: string };
      return created.id ?? created.ID ?? ((await findSecret(secret.name)) as string);
    } catch (error) {
      // Made meanwhile (a retried pass): the same name holds the same value.
      if (dockerStatus(error).status !== 409) throw error;
      const again = await findSecret(secret.name);
      if (again === undefined) throw error;
      return again;
    }
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
      const secretIds = await ensureSecrets(request.secrets);
      // Not retried: a create that reached the engine and lost its answer would be a 409.
      await docker.createService(engineServiceSpec(request, secretIds) as never);
    },

    async updateService(service, request) {
      for (const network of request.networks) await overlays.ensure(network);
      const secretIds = await ensureSecrets(request.secrets);
      // The version is Swarm's optimistic lock: the update applies only to the spec last read.
      await docker.getService(service.id).update({
        _query: { version: service.version },
        _body: engineServiceSpec(request, secretIds),
      } as never);
    },

    async removeUnusedSecrets(orchestratorId, imageId, keep) {
      const label = [`${labelKeys.managedBy}=${orchestratorId}`, `${labelKeys.imageId}=${imageId}`];
      const listed = await withDockerRetry(() => docker.listSecrets({ filters: { label } }));
      for (const secret of listed) {
        const name = secret.Spec?.Name ?? "";
        if (keep.has(name)) continue;
        try {
          await docker.getSecret(secret.ID).remove();
        } catch (error) {
          // Still named by a service (400 "in use"), or removed meanwhile (404): stays or gone.
          const { status } = dockerStatus(error);
          if (status !== 400 && status !== 404) throw error;
        }
      }
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
        nodeView(),
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
