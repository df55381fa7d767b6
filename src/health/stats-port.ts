import type { StatsSample } from "./usage.ts";

/** What the resource monitor reads from the engine (the Docker adapter provides it). */
export type ContainerStats = {
  /** One sample, or undefined when the container is gone; bounded in time, and by `signal`. */
  sample(containerId: string, signal?: AbortSignal): Promise<StatsSample | undefined>;
  /** Where the engine keeps its data, when known: the disk whose usage is reported. */
  dockerRootDir(): Promise<string | undefined>;
};
