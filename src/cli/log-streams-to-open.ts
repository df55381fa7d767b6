import type { Instance } from "../client/index.ts";

/** A container whose output `logs -f` has followed: still streaming, or ended at `endedAt`. */
export type FollowedContainer =
  | { readonly streaming: true }
  | { readonly streaming: false; readonly endedAt: Date };

/** A stream to open: the instance, and from when (undefined: everything it wrote). */
export type LogStreamToOpen = { readonly instance: Instance; readonly since: Date | undefined };

/**
 * Which running containers of an image `logs -f IMAGE` should start following, given those it
 * follows or has followed (by container id). A container never followed (a scale-up, a
 * replacement) is followed from its first line; one whose stream ended and that runs again (a
 * restart keeps the container) from the moment its stream ended, so no line prints twice.
 * Pure.
 */
export function logStreamsToOpen(
  instances: readonly Instance[],
  followed: ReadonlyMap<string, FollowedContainer>,
): LogStreamToOpen[] {
  const streams: LogStreamToOpen[] = [];
  for (const instance of instances) {
    if (instance.container_id === null || instance.observed_state !== "running") continue;
    const known = followed.get(instance.container_id);
    if (known?.streaming === true) continue;
    streams.push({ instance, since: known?.endedAt });
  }
  return streams;
}
