import type { ContainerRuntime } from "../../docker/runtime.ts";
import type { NodeFacts } from "../../domain/placement.ts";
import type { Logger } from "../../logger.ts";
import type { Store } from "../../store/database.ts";
import type { ContainerNews } from "./container-news.ts";
import type { ContainerLogTail, ImageCleanup, ImageResolver, SecretsResolver } from "./ports.ts";

export type ReconcilerSettings = {
  readonly orchestratorId: string;
  readonly advertiseHost: string;
  readonly publishIp: string;
  /** The prefix of built tags: events name what an image's containers run. */
  readonly builtImagePrefix: string;
  /** Seconds a container gets to stop before it is killed. */
  readonly stopTimeoutSeconds: number;
  /** Docker calls in flight at once for one image. */
  readonly actionConcurrency: number;
  /** Processes one container may have. */
  readonly pidsLimit: number;
  /** Open files per process in one container. */
  readonly openFilesLimit: number;
  /** Writable-layer size of one container ("10g"), where the storage driver can limit it. */
  readonly diskLimit: string | undefined;
  /** The admin's user id: only the admin's images may mount host folders. */
  readonly adminUserId: number;
  /** Host folders those mounts may be under (BIND_MOUNT_ALLOWLIST); empty: none. */
  readonly bindMountAllowlist: readonly string[];
};

/** Everything one reconcile pass reads from and writes to. */
export type ReconcilerDependencies = {
  readonly store: Store;
  readonly runtime: ContainerRuntime;
  readonly logger: Logger;
  readonly settings: ReconcilerSettings;
  readonly resolveImage: ImageResolver;
  /** The secrets an image names, for images that name any. */
  readonly resolveSecrets?: SecretsResolver | undefined;
  readonly cleanupImage?: ImageCleanup;
  readonly logTail?: ContainerLogTail;
  /** What Docker just said of containers: inspected instead of trusting the (lagging) list. */
  readonly containerNews?: ContainerNews;
  /** What the engine is, for placement constraints (RUNTIME=docker: the one engine is the node). */
  readonly nodeFacts?: () => Promise<NodeFacts>;
  readonly now?: () => Date;
};
