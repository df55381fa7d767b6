import { labelKeys } from "../domain/labels.ts";
import type { DockerClient } from "./connection.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

/** A tenant's named volume the controller makes on first use: its Docker name and labels. */
export type VolumeRequest = {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
};

/** A volume this controller made, as the engine describes it. */
export type ManagedVolume = {
  /** The Docker name (`{orchestratorId}-u{user id}-{name}`). */
  readonly dockerName: string;
  /** The owner's user id (label `orchestrator.owner`). */
  readonly userId: number;
  /** The tenant's name for it (label `orchestrator.volume`). */
  readonly name: string;
  readonly createdAt: Date | null;
  /** Bytes used, from the engine's disk usage data; null when the engine does not say. */
  readonly sizeBytes: number | null;
};

/** What removing a volume came to. */
export type VolumeRemoval = "removed" | "in_use" | "gone";

/** A volume of the wanted name exists and is not this tenant's (made by hand, or by another). */
export class VolumeConflictError extends Error {
  override name = "VolumeConflictError";
}

type VolumeInfo = {
  readonly Name: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly CreatedAt?: string;
  readonly UsageData?: { readonly Size?: number } | null;
};

function toDate(value: string | undefined): Date | null {
  if (value === undefined) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function managedVolume(info: VolumeInfo, sizes: ReadonlyMap<string, number>): ManagedVolume {
  const size = sizes.get(info.Name);
  return {
    dockerName: info.Name,
    userId: Number(info.Labels?.[labelKeys.owner]),
    name: info.Labels?.[labelKeys.volume] ?? info.Name,
    createdAt: toDate(info.CreatedAt),
    sizeBytes: size === undefined || size < 0 ? null : size,
  };
}

/**
 * Tenants' named volumes: created with their labels before a container mounts them (never by
 * the engine's implicit create, which would leave them unlabelled), refused when a volume of
 * the name exists but is not the tenant's, listed with their disk usage, removed on request.
 */
export function createVolumes(docker: DockerClient) {
  async function inspect(name: string): Promise<VolumeInfo | undefined> {
    try {
      return (await withDockerRetry(() => docker.getVolume(name).inspect())) as VolumeInfo;
    } catch (error) {
      if (dockerStatus(error).status === 404) return undefined;
      throw error;
    }
  }

  /** Sizes by volume name from the engine's disk usage (`docker system df -v`). */
  async function sizes(): Promise<Map<string, number>> {
    const usage = (await withDockerRetry(() => docker.df())) as { Volumes?: VolumeInfo[] | null };
    return new Map(
      (usage.Volumes ?? []).map((volume) => [volume.Name, volume.UsageData?.Size ?? -1]),
    );
  }

  return {
    /** Creates the volume unless it exists; one that exists must carry the same labels. */
    async ensure(request: VolumeRequest): Promise<void> {
      let found = await inspect(request.name);
      if (found === undefined) {
        // Creating an existing name answers with that volume (seen on 20.10: six concurrent
        // creates all succeed), so two instances starting at once need no coordination; the
        // labels check below tells whose it is.
        await withDockerRetry(() =>
          docker.createVolume({
            Name: request.name,
            Driver: "local",
            Labels: { ...request.labels },
          }),
        );
        found = await inspect(request.name);
      }
      const labels = found?.Labels ?? {};
      const foreign = Object.entries(request.labels).some(([key, value]) => labels[key] !== value);
      if (foreign) {
        throw new VolumeConflictError(
          `volume ${request.name} exists and is not this tenant's (its labels differ): remove or rename it`,
        );
      }
    },

    /** The volumes labelled managed-by={orchestratorId}, optionally of one owner, with sizes. */
    async list(orchestratorId: string, userId?: number): Promise<ManagedVolume[]> {
      const label = [`${labelKeys.managedBy}=${orchestratorId}`, `${labelKeys.volume}`];
      if (userId !== undefined) label.push(`${labelKeys.owner}=${userId}`);
      const listed = await withDockerRetry(() => docker.listVolumes({ filters: { label } }));
      const volumes = (listed.Volumes ?? []) as VolumeInfo[];
      if (volumes.length === 0) return [];
      const usage = await sizes();
      return volumes
        .map((volume) => managedVolume(volume, usage))
        .sort((left, right) => left.userId - right.userId || left.name.localeCompare(right.name));
    },

    /** One volume by Docker name, when it exists and this controller made it. */
    async find(orchestratorId: string, dockerName: string): Promise<ManagedVolume | undefined> {
      const found = await inspect(dockerName);
      if (found?.Labels?.[labelKeys.managedBy] !== orchestratorId) return undefined;
      return managedVolume(found, new Map());
    },

    /** Removes a volume; the engine refuses one a container still mounts (`in_use`). */
    async remove(dockerName: string): Promise<VolumeRemoval> {
      try {
        await withDockerRetry(() => docker.getVolume(dockerName).remove());
        return "removed";
      } catch (error) {
        const { status } = dockerStatus(error);
        if (status === 404) return "gone";
        if (status === 409) return "in_use";
        throw error;
      }
    },
  };
}

export type Volumes = ReturnType<typeof createVolumes>;
