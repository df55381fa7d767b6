import type { StatsSample } from "./usage.ts";

/** What the resource monitor reads from the engine (the Docker adapter provides it). */
export type ContainerStats = {
  /** One sample, or undefined when the container is gone. */
  sample(containerId: string): Promise<StatsSample | undefined>;
  /** Where the engine keeps its data, when known: the disk whose usage is reported. */
  dockerRootDir(): Promise<string | undefined>;
};
