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

/** The opened values of an image's secrets, by name: only for the container being created. */
export type SecretValues = ReadonlyMap<string, string>;

/**
 * The secrets an image names, as its owner has them now: `versions` (name → "id:version") enters
 * the spec hash, so a new value rolls the containers; `open()` decrypts the values, called only
 * when a container is created. A name the owner does not have (any more) is a refusal.
 */
export type SecretsResolution =
  | {
      readonly ok: true;
      readonly versions: Readonly<Record<string, string>>;
      readonly open: () => SecretValues;
    }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export type SecretsResolver = (image: ImageRecord) => Promise<SecretsResolution>;
