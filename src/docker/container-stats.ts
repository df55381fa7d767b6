import type { StatsSample } from "../health/usage.ts";
import type { DockerClient } from "./connection.ts";
import { dockerStatus } from "./retry.ts";

/** Resource figures for the health monitor: one stats sample, and where the engine keeps data. */
export function createContainerStats(docker: DockerClient) {
  return {
    /** One stats sample, without the engine's 1 s wait for a second one (`one-shot`). */
    async sample(containerId: string): Promise<StatsSample | undefined> {
      try {
        const container = docker.getContainer(containerId) as unknown as {
          stats(options: Record<string, unknown>): Promise<StatsSample>;
        };
        return await container.stats({ stream: false, "one-shot": true });
      } catch (error) {
        if (dockerStatus(error).status === 404) return undefined;
        throw error;
      }
    },

    /** Where the engine keeps its data (images, containers): the disk the monitor watches. */
    async dockerRootDir(): Promise<string | undefined> {
      const info = (await docker.info()) as { DockerRootDir?: string };
      return info.DockerRootDir;
    },
  };
}
