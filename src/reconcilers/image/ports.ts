import type { ImageRecord } from "./model.ts";
import type { Runnability } from "./status.ts";

export type { Runnability } from "./status.ts";

/**
 * How an image becomes runnable now: an existing reference is found or pulled, an upload is
 * built. Never waits for a build: "not yet" is an answer (`ok: false`, not degraded).
 */
export type ImageResolver = (image: ImageRecord) => Promise<Runnability>;

/** Called once a deleted image has no containers left, to remove what it left on disk and in Docker. */
export type ImageCleanup = (image: ImageRecord) => Promise<void>;

/**
 * What the reconciler needs from whatever builds uploaded sources (the build pipeline
 * implements it; the reconciler never imports the pipeline).
 */
export type BuiltImages = {
  readonly resolve: ImageResolver;
  readonly cleanup: ImageCleanup;
};

/** The last lines a container wrote (kept on the instance when it fails). */
export type ContainerLogTail = (containerId: string, lines: number) => Promise<string>;
