import type { ContainerRuntime } from "../../docker/runtime.ts";
import type { Logger } from "../../logger.ts";
import type { Db } from "../../store/database.ts";
import type { ImageRecord } from "./model.ts";
import type { Runnability } from "./status.ts";

export type ReconcilerSettings = {
  readonly orchestratorId: string;
  readonly advertiseHost: string;
  readonly publishIp: string;
  /** Seconds a container gets to stop before it is killed. */
  readonly stopTimeoutSeconds: number;
  /** Docker calls in flight at once for one image. */
  readonly actionConcurrency: number;
};

/** How an image becomes runnable: a reference is pulled, an upload is built (build pipeline). */
export type ImageResolver = (image: ImageRecord) => Promise<Runnability>;

/** Called before an image row is deleted, to remove what it left on disk and in Docker. */
export type ImageCleanup = (image: ImageRecord) => Promise<void>;

export type ReconcilerDependencies = {
  readonly db: Db;
  readonly runtime: ContainerRuntime;
  readonly logger: Logger;
  readonly settings: ReconcilerSettings;
  readonly resolveImage: ImageResolver;
  readonly cleanupImage?: ImageCleanup;
  /** The last lines a container wrote, kept on the instance when it fails. */
  readonly logTail?: (containerId: string, lines: number) => Promise<string>;
  readonly now?: () => Date;
};

export type ReconcileResult = { readonly requeueAfterMs?: number };

/** An error worth a retry with back-off (pull failed, Docker action failed). */
export class ReconcileError extends Error {
  override name = "ReconcileError";
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
