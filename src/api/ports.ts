import type { Readable } from "node:stream";

/**
 * What the API reads from the engine, handed to it like the store (the Docker adapter
 * implements it); the API never imports the adapter.
 */
export type ContainerLogs = {
  /** The last lines a container wrote (only those since `since`), or "" when it is gone. */
  tail(containerId: string, lines: number, since?: Date): Promise<string>;
  /**
   * Follows a container's logs until the signal aborts or the container ends; undefined when
   * the container is gone (removed between the database's answer and the engine's).
   */
  follow(
    containerId: string,
    options: { readonly tail: number; readonly since?: Date; readonly signal: AbortSignal },
  ): Promise<Readable | undefined>;
};
