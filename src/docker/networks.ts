import type { DockerClient } from "./connection.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

/** A network the controller owns (one per tenant): created on first use, labelled. */
export type NetworkRequest = {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
};

/**
 * Networks for tenants. Bridges (the container runtime): user-defined bridges are isolated from
 * each other by the engine (its DOCKER-ISOLATION rules): a tenant's instances reach each other
 * on theirs, never another tenant's, and containers are never put on the default bridge that all
 * would share. Overlays (the Swarm runtime): attachable, spanning the swarm's nodes.
 */
export function createNetworks(docker: DockerClient, driver: "bridge" | "overlay" = "bridge") {
  const known = new Set<string>();
  /** One ensure per name at a time: the engine's duplicate check does not hold under a race. */
  const inFlight = new Map<string, Promise<void>>();

  async function create(request: NetworkRequest): Promise<void> {
    try {
      await withDockerRetry(() => docker.getNetwork(request.name).inspect());
      return;
    } catch (error) {
      if (dockerStatus(error).status !== 404) throw error;
    }
    try {
      await withDockerRetry(() =>
        docker.createNetwork({
          Name: request.name,
          Driver: driver,
          ...(driver === "overlay" ? { Attachable: true } : {}),
          CheckDuplicate: true,
          Labels: { ...request.labels },
        }),
      );
    } catch (error) {
      if (dockerStatus(error).status !== 409) throw error;
    }
  }

  /**
   * Two networks of one name (made by a race, e.g. by two processes): the oldest stays, the
   * others go (those still in use stay too; the engine refuses to remove them).
   */
  async function removeDuplicates(name: string): Promise<void> {
    const networks = (await docker.listNetworks({ filters: { name: [name] } }))
      .filter((network) => network.Name === name)
      .sort((left, right) => (left.Created < right.Created ? -1 : 1));
    for (const network of networks.slice(1)) {
      await docker
        .getNetwork(network.Id)
        .remove()
        .catch(() => {});
    }
  }

  return {
    /** Creates the network unless it exists (remembered per process; a 409 means it does). */
    async ensure(request: NetworkRequest): Promise<void> {
      if (known.has(request.name)) return;
      let ensuring = inFlight.get(request.name);
      if (ensuring === undefined) {
        ensuring = create(request).finally(() => inFlight.delete(request.name));
        inFlight.set(request.name, ensuring);
      }
      await ensuring;
      known.add(request.name);
    },

    removeDuplicates,

    /** Forgets a network whose containers were created on it but which then vanished. */
    forget(name: string): void {
      known.delete(name);
    },

    /** Removes a network; one still in use or already gone is left as it is (false). */
    async remove(name: string): Promise<boolean> {
      known.delete(name);
      try {
        await withDockerRetry(() => docker.getNetwork(name).remove());
        return true;
      } catch (error) {
        const { status } = dockerStatus(error);
        if (status === 404 || status === 403 || status === 409) return false;
        throw error;
      }
    },
  };
}

export type Networks = ReturnType<typeof createNetworks>;
