import type Dockerode from "dockerode";
import type { DockerClient } from "./connection.ts";
import type { Networks } from "./networks.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

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
  readonly network: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
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
};

/** The engine's answer when its storage driver cannot limit a container's disk. */
const noDiskQuota = /storage-?opt|quota|backingfs|not supported/i;

/** Docker's create options for a tenant's container: hardened, limited, on its tenant's network. */
export function hardenedCreateOptions(
  request: CreateContainerRequest,
  options: { readonly diskLimit: boolean },
): Dockerode.ContainerCreateOptions {
  const portKey = `${request.containerPort}/tcp`;
  return {
    name: request.name,
    Image: request.image,
    Env: Object.entries(request.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...request.labels },
    ExposedPorts: { [portKey]: {} },
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
    HostConfig: {
      PortBindings: { [portKey]: [{ HostIp: request.publishIp, HostPort: "" }] },
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
      CapAdd: [...tenantCapabilities],
      SecurityOpt: ["no-new-privileges:true"],
      Privileged: false,
      IpcMode: "private",
      ...(options.diskLimit && request.diskLimit !== undefined
        ? { StorageOpt: { size: request.diskLimit } }
        : {}),
      // The controller restarts containers itself, with back-off and events.
      RestartPolicy: { Name: "no" },
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
      Init: false,
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
  onNoDiskQuota: (message: string) => void,
) {
  let diskLimit = true;
  return async (request: CreateContainerRequest): Promise<string> => {
    await networks.ensure(request.network);
    const attempt = () =>
      withDockerRetry(() => docker.createContainer(hardenedCreateOptions(request, { diskLimit })));
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
  };
}
