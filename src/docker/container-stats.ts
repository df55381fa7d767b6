import type { StatsSample } from "../health/usage.ts";
import type { DockerClient } from "./connection.ts";
import { dockerStatus } from "./retry.ts";

export type ContainerStatsOptions = {
  /** How long one stats request may take before it is given up (default 10 s). */
  readonly timeoutMs?: number;
};

/** Resource figures for the health monitor: one stats sample, and where the engine keeps data. */
export function createContainerStats(docker: DockerClient, options: ContainerStatsOptions = {}) {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    /**
     * One stats sample, without the engine's 1 s wait for a second one (`one-shot`). Bounded:
     * the engine (20.10) can leave the request of a container removed meanwhile unanswered for
     * ever, which would hold the monitor's pass and the connection (and a process that has
     * stopped would never exit). Given up after `timeoutMs`, or when `signal` aborts.
     */
    async sample(containerId: string, signal?: AbortSignal): Promise<StatsSample | undefined> {
      const bound = AbortSignal.timeout(timeoutMs);
      try {
        const container = docker.getContainer(containerId) as unknown as {
          stats(options: Record<string, unknown>): Promise<StatsSample>;
        };
        return await container.stats({
          stream: false,
          "one-shot": true,
          abortSignal: signal === undefined ? bound : AbortSignal.any([bound, signal]),
        });
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
