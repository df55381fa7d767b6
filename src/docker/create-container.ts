import type Dockerode from "dockerode";
import type { PortMapping } from "../domain/container-options.ts";
import type { DockerClient } from "./connection.ts";
import { type ContainerFile, writeContainerFiles } from "./container-files.ts";
import type { NetworkRequest, Networks } from "./networks.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";
import type { Volumes } from "./volumes.ts";

/**
 * The capabilities tenants' containers keep: what common images need to start (web servers
 * binding low ports and dropping to their own user, entrypoints that chown their data). Left
 * out of Docker's default set: NET_RAW (raw sockets: spoofing and sniffing on the bridge),
 * MKNOD, SETFCAP, AUDIT_WRITE and SYS_CHROOT.
 */
export const tenantCapabilities = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "NET_BIND_SERVICE",
] as const;

export type CreateContainerRequest = {
  readonly name: string;
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly containerPort: number;
  readonly publishIp: string;
  readonly nanoCpus: number;
  readonly memoryBytes: number;
  /** The tenant's own bridge network, created on first use. */
  readonly network: NetworkRequest;
  /** The networks its image declares (the tenant's too), each created on first use. */
  readonly networks?: readonly NetworkRequest[] | undefined;
  /** Names other containers reach it by on every one of its networks (its image's name). */
  readonly aliases?: readonly string[] | undefined;
  readonly pidsLimit: number;
  /** Open files per process (soft and hard); never above the engine's own hard limit. */
  readonly openFilesLimit: number;
  /** Size of the writable layer ("10g"), where the storage driver supports a limit. */
  readonly diskLimit: string | undefined;
  readonly healthcheck?:
    | {
        readonly test: readonly string[];
        readonly intervalMs: number;
        readonly timeoutMs: number;
        readonly retries: number;
        readonly startPeriodMs: number;
      }
    | undefined;
  /** How the container runs beyond the above (domain/container-options.ts). */
  readonly run?: RunOptions | undefined;
  /** Written into the container after it is created, before anyone starts it (secret files). */
  readonly files?: readonly ContainerFile[] | undefined;
};

export type RunOptions = {
  readonly command: readonly string[] | null;
  readonly entrypoint: readonly string[] | null;
  readonly workingDir: string | null;
  readonly user: string | null;
  readonly hostname: string;
  /** The user's labels; the controller's own are set over them. */
  readonly labels: Readonly<Record<string, string>>;
  readonly stopSignal: string | null;
  readonly stopTimeoutSeconds: number;
  readonly readOnlyRootFilesystem: boolean;
  readonly tmpfs: ReadonlyArray<{ readonly target: string; readonly size: string }>;
  readonly init: boolean;
  /** Ports besides the primary one, each published on a dynamic host port or a fixed one. */
  readonly ports: readonly PortMapping[];
  /** Admin only: these reach past the sandbox. */
  readonly privileged: boolean;
  readonly capAdd: readonly string[];
  readonly devices: readonly string[];
  /** Named volumes (made with their labels before the container) and host folders. */
  readonly mounts: readonly Mount[];
};

/** One mount: a tenant's named volume by its Docker name, or a host folder (the admin's). */
export type Mount =
  | {
      readonly type: "volume";
      readonly source: string;
      readonly target: string;
      readonly readOnly: boolean;
      /** The volume's labels: whose it is, and its name as the tenant wrote it. */
      readonly labels: Readonly<Record<string, string>>;
    }
  | {
      readonly type: "bind";
      readonly source: string;
      readonly target: string;
      readonly readOnly: boolean;
    };

/**
 * Docker's mount options. A volume carries its labels here too: should it vanish between its
 * creation and the container's, the engine makes it again labelled. A host folder must exist
 * (the engine never creates it) and shares no mounts with the host (rprivate).
 */
function dockerMount(mount: Mount): Dockerode.MountSettings {
  return mount.type === "volume"
    ? {
        Type: "volume",
        Source: mount.source,
        Target: mount.target,
        ReadOnly: mount.readOnly,
        // The types ask for DriverConfig; the engine takes it as optional (local driver).
        VolumeOptions: { NoCopy: false, Labels: { ...mount.labels } } as NonNullable<
          Dockerode.MountSettings["VolumeOptions"]
        >,
      }
    : {
        Type: "bind",
        Source: mount.source,
        Target: mount.target,
        ReadOnly: mount.readOnly,
        BindOptions: { Propagation: "rprivate" },
      };
}

/** `/dev/a`, `/dev/a:rw`, `/dev/a:/dev/b`, `/dev/a:/dev/b:rw`: Docker's device mapping. */
export function deviceMapping(device: string) {
  const parts = device.split(":");
  const onHost = parts[0] ?? device;
  // The second part is the container's path when it is one, else the permissions.
  const second = parts[1];
  const inContainer = second?.startsWith("/") === true ? second : onHost;
  const permissions = second?.startsWith("/") === true ? parts[2] : second;
  return {
    PathOnHost: onHost,
    PathInContainer: inContainer,
    CgroupPermissions: permissions ?? "rwm",
  };
}

/** The engine's answer when its storage driver cannot limit a container's disk. */
const noDiskQuota = /storage-?opt|quota|backingfs|not supported/i;

/** Docker's create options for a tenant's container: hardened, limited, on its tenant's network. */
export function hardenedCreateOptions(
  request: CreateContainerRequest,
  options: { readonly diskLimit: boolean },
): Dockerode.ContainerCreateOptions {
  const run = request.run;
  const ports = [
    { key: `${request.containerPort}/tcp`, host: "" },
    ...(run?.ports ?? []).map((mapping) => ({
      key: `${mapping.container}/${mapping.protocol}`,
      host: mapping.host === undefined ? "" : String(mapping.host),
    })),
  ];
  const bindings = Object.fromEntries(
    ports.map((port) => [port.key, [{ HostIp: request.publishIp, HostPort: port.host }]]),
  );
  return {
    name: request.name,
    Image: request.image,
    Env: Object.entries(request.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...run?.labels, ...request.labels },
    ExposedPorts: Object.fromEntries(ports.map((port) => [port.key, {}])),
    ...(run === undefined
      ? {}
      : {
          ...(run.command === null ? {} : { Cmd: [...run.command] }),
          ...(run.entrypoint === null ? {} : { Entrypoint: [...run.entrypoint] }),
          ...(run.workingDir === null ? {} : { WorkingDir: run.workingDir }),
          ...(run.user === null ? {} : { User: run.user }),
          Hostname: run.hostname,
          ...(run.stopSignal === null ? {} : { StopSignal: run.stopSignal }),
          StopTimeout: run.stopTimeoutSeconds,
        }),
    ...(request.healthcheck === undefined
      ? {}
      : {
          Healthcheck: {
            Test: [...request.healthcheck.test],
            Interval: request.healthcheck.intervalMs * 1_000_000,
            Timeout: request.healthcheck.timeoutMs * 1_000_000,
            Retries: request.healthcheck.retries,
            StartPeriod: request.healthcheck.startPeriodMs * 1_000_000,
          },
        }),
    ...(request.aliases === undefined || request.aliases.length === 0
      ? {}
      : {
          NetworkingConfig: {
            EndpointsConfig: { [request.network.name]: { Aliases: [...request.aliases] } },
          },
        }),
    HostConfig: {
      PortBindings: bindings,
      NetworkMode: request.network.name,
      NanoCpus: request.nanoCpus,
      Memory: request.memoryBytes,
      // No swap beyond the memory limit.
      MemorySwap: request.memoryBytes,
      PidsLimit: request.pidsLimit,
      Ulimits: [
        { Name: "nofile", Soft: request.openFilesLimit, Hard: request.openFilesLimit },
        { Name: "core", Soft: 0, Hard: 0 },
      ],
      CapDrop: ["ALL"],
      CapAdd: [...new Set([...tenantCapabilities, ...(run?.capAdd ?? [])])],
      SecurityOpt: ["no-new-privileges:true"],
      Privileged: run?.privileged ?? false,
      ...(run === undefined
        ? {}
        : {
            ReadonlyRootfs: run.readOnlyRootFilesystem,
            Tmpfs: Object.fromEntries(
              run.tmpfs.map((mount) => [mount.target, `size=${mount.size}`]),
            ),
            Devices: run.devices.map(deviceMapping),
            Mounts: run.mounts.map(dockerMount),
          }),
      IpcMode: "private",
      ...(options.diskLimit && request.diskLimit !== undefined
        ? { StorageOpt: { size: request.diskLimit } }
        : {}),
      // The controller restarts containers itself, with back-off and events.
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
      Init: run?.init ?? false,
    },
  };
}

/**
 * Creates containers the hardened way. Whether the storage driver can limit a container's disk
 * is learnt from the engine's first answer (overlay2 can only on xfs with project quotas):
 * without it the limit is left out, once said in the log.
 */
export function createContainerCreator(
  docker: DockerClient,
  networks: Networks,
  volumes: Volumes,
  onNoDiskQuota: (message: string) => void,
) {
  let diskLimit = true;

  /** The engine creates a container on one network: the declared ones are joined after. */
  async function joinDeclaredNetworks(containerId: string, request: CreateContainerRequest) {
    const aliases = [...(request.aliases ?? [])];
    for (const network of request.networks ?? []) {
      const connect = () =>
        withDockerRetry(() =>
          docker.getNetwork(network.name).connect({
            Container: containerId,
            EndpointConfig: { Aliases: aliases },
          }),
        );
      try {
        await connect();
      } catch (error) {
        if (dockerStatus(error).status !== 404) throw error;
        // The network was removed behind our back (or by a cleanup racing this create).
        networks.forget(network.name);
        await networks.ensure(network);
        await connect();
      }
    }
  }

  /** Creates the container with every network it needs; half-made, it is removed again. */
  async function createWired(request: CreateContainerRequest): Promise<string> {
    const id = await createOnTenantNetwork(request);
    try {
      await joinDeclaredNetworks(id, request);
    } catch (error) {
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => {});
      throw error;
    }
    return id;
  }

  async function createOnTenantNetwork(request: CreateContainerRequest): Promise<string> {
    const created = () =>
      withDockerRetry(() => docker.createContainer(hardenedCreateOptions(request, { diskLimit })));
    const attempt = async () => {
      const container = await created();
      try {
        await writeContainerFiles(docker, container.id, request.files ?? []);
      } catch (error) {
        // A container without its files never starts: the next pass creates it again.
        await container.remove({ force: true }).catch(() => {});
        throw error;
      }
      return container;
    };
    // Creates run side by side: each one that asked for a disk limit and was refused for it
    // retries without, not only the first to learn it.
    const askedDiskLimit = diskLimit && request.diskLimit !== undefined;
    try {
      return (await attempt()).id;
    } catch (error) {
      const { status, message } = dockerStatus(error);
      if (askedDiskLimit && status !== 409 && noDiskQuota.test(message)) {
        if (diskLimit) onNoDiskQuota(message);
        diskLimit = false;
        return (await attempt()).id;
      }
      if (status === 404 && /network/i.test(message)) {
        // The network was removed behind our back: make it again, once.
        networks.forget(request.network.name);
        await networks.ensure(request.network);
        return (await attempt()).id;
      }
      throw error;
    }
  }

  return async (request: CreateContainerRequest): Promise<string> => {
    await networks.ensure(request.network);
    for (const network of request.networks ?? []) await networks.ensure(network);
    for (const mount of request.run?.mounts ?? []) {
      if (mount.type === "volume")
        await volumes.ensure({ name: mount.source, labels: mount.labels });
    }
    return createWired(request);
  };
}
