import type { DockerClient } from "./connection.ts";
import { dockerStatus, withDockerRetry } from "./retry.ts";

/** A bridge network the controller owns (one per tenant): created on first use, labelled. */
export type NetworkRequest = {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
};

/**
 * Bridge networks for tenants. User-defined bridges are isolated from each other by the engine
 * (its DOCKER-ISOLATION rules): a tenant's instances reach each other on theirs, never another
 * tenant's, and containers are never put on the default bridge that all would share.
 */
export function createNetworks(docker: DockerClient) {
  const known = new Set<string>();

  return {
    /** Creates the network unless it exists (remembered per process; a 409 means it does). */
    async ensure(request: NetworkRequest): Promise<void> {
      if (known.has(request.name)) return;
      try {
        await withDockerRetry(() => docker.getNetwork(request.name).inspect());
      } catch (error) {
        if (dockerStatus(error).status !== 404) throw error;
        try {
          await withDockerRetry(() =>
            docker.createNetwork({
              Name: request.name,
              Driver: "bridge",
              CheckDuplicate: true,
              Labels: { ...request.labels },
            }),
          );
        } catch (createError) {
          if (dockerStatus(createError).status !== 409) throw createError;
        }
      }
      known.add(request.name);
    },

    /** Forgets a network whose containers were created on it but which then vanished. */
    forget(name: string): void {
      known.delete(name);
    },

    /** Removes a network; one still in use or already gone is left as it is. */
    async remove(name: string): Promise<void> {
      known.delete(name);
      try {
        await withDockerRetry(() => docker.getNetwork(name).remove());
      } catch (error) {
        const { status } = dockerStatus(error);
        if (status === 404 || status === 403 || status === 409) return;
        throw error;
      }
    },
  };
}

export type Networks = ReturnType<typeof createNetworks>;
