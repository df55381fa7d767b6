import { createHash } from "node:crypto";
import pMap from "p-map";
import type { Config } from "../config.ts";
import type { DockerClient } from "../docker/connection.ts";
import type { EngineWatch } from "../docker/engine-watch.ts";
import { watchContainerEvents } from "../docker/event-stream.ts";
import { createObservability } from "../docker/observability.ts";
import type { ContainerRuntime } from "../docker/runtime.ts";
import { imageIdOf } from "../domain/labels.ts";
import type { HealthSample } from "../health/monitor.ts";
import { startHealthMonitor } from "../health/monitor.ts";
import { startProber } from "../health/prober.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { ImageRecord } from "../reconcilers/image/model.ts";
import { createImageReconciler, type ImageCleanup } from "../reconcilers/image/reconciler.ts";
import {
  type BuiltImageResolver,
  createImageResolver,
} from "../reconcilers/image/resolve-image.ts";
import type { Store } from "../store/database.ts";
import { imagesChannel, listImageIds } from "../store/images-repository.ts";
import type { LeaderLock } from "../store/sql-backend.ts";
import { type Controller, createController } from "./controller.ts";
import { createControllerMetrics } from "./metrics.ts";
import { findKeysNeedingWork } from "./resync.ts";
import { createWorkQueue } from "./workqueue.ts";

export type ControllerLoopDependencies = {
  readonly store: Store;
  readonly docker: DockerClient;
  readonly runtime: ContainerRuntime;
  readonly engine: EngineWatch;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Upload images: the build pipeline says when and what they run. */
  readonly resolveBuilt?: BuiltImageResolver;
  /** The reference an upload image's containers run, without Docker calls (resync). */
  readonly builtReference?: (image: ImageRecord) => string;
  readonly cleanupImage?: ImageCleanup;
  /** Every health sample, e.g. for per-container metrics. */
  readonly onHealthSample?: (sample: HealthSample) => void;
};

export type ControllerLoop = {
  /** The running controller while this process leads; undefined otherwise. */
  current(): Controller | undefined;
  stop(deadlineMs: number): Promise<void>;
};

function leaderKey(orchestratorId: string): number {
  return createHash("sha256")
    .update(`orchestrator-controller:${orchestratorId}`)
    .digest()
    .readInt32BE(0);
}

/**
 * Runs the controller while this process holds the leader lock (always, on the embedded
 * database), fed by three sources: NOTIFY on desired-state writes, Docker's event stream
 * (a reconnect means a full resync), and the periodic resync.
 */
export function runControllerLoop(deps: ControllerLoopDependencies): ControllerLoop {
  const { store, config, logger } = deps;
  const log = logger.child({ component: "controller" });
  let stopped = false;
  let controller: Controller | undefined;
  let lock: LeaderLock | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const cleanups: Array<() => Promise<void> | void> = [];
  let queue = createWorkQueue<number>();
  const controllerMetrics = createControllerMetrics(deps.metrics, () => queue);

  const resolveImage = createImageResolver(deps.runtime, log, deps.resolveBuilt);
  const observability = createObservability(deps.docker);
  const reconciler = createImageReconciler({
    db: store.db,
    runtime: deps.runtime,
    logger: log,
    settings: {
      orchestratorId: config.orchestratorId,
      advertiseHost: config.advertiseHost,
      publishIp: config.publishIp,
      stopTimeoutSeconds: config.stopTimeoutSeconds,
      actionConcurrency: 4,
    },
    resolveImage,
    ...(deps.cleanupImage === undefined ? {} : { cleanupImage: deps.cleanupImage }),
    logTail: (containerId, lines) => observability.logTail(containerId, lines),
  });

  async function lead(): Promise<void> {
    queue = createWorkQueue<number>();
    const created = createController({
      queue,
      workers: config.reconcileWorkers,
      reconcile: (imageId) => reconciler.reconcile(imageId),
      listAllKeys: async () => {
        const containers = await deps.runtime.listManaged(config.orchestratorId);
        const keys = new Set(await listImageIds(store.db));
        for (const container of containers) {
          const imageId = imageIdOf(container.labels);
          if (imageId !== undefined) keys.add(imageId);
        }
        return [...keys];
      },
      resync: () =>
        findKeysNeedingWork({
          db: store.db,
          runtime: deps.runtime,
          orchestratorId: config.orchestratorId,
          referenceOf: (image) =>
            image.source_type === "reference"
              ? (image.image_reference ?? undefined)
              : deps.builtReference?.(image),
        }),
      removeUnowned: async (containerIds) => {
        await pMap(containerIds, (id) => deps.runtime.remove(id), { concurrency: 4 });
        log.info({ count: containerIds.length }, "unowned containers removed");
      },
      resyncIntervalMs: config.resyncIntervalSeconds * 1000,
      logger: log,
      metrics: controllerMetrics,
    });

    const unlisten = await store.listen(imagesChannel, (payload) => {
      const imageId = Number(payload);
      if (Number.isInteger(imageId) && imageId > 0) created.enqueue(imageId);
    });
    cleanups.push(unlisten);

    // The first full list needs Docker: wait for it, retrying.
    for (;;) {
      if (stopped) return;
      try {
        await created.start();
        break;
      } catch (error) {
        log.warn({ err: error }, "controller could not list Docker and the database; retrying");
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
    }
    controller = created;

    const stopEvents = watchContainerEvents(
      deps.docker,
      config.orchestratorId,
      {
        onEvent: (event) => {
          const imageId = imageIdOf(event.labels);
          if (imageId === undefined) {
            created.requestResync();
            return;
          }
          created.enqueue(imageId);
          // Docker announces a death before its container list shows it (the list is an
          // eventually consistent view): look again once it has settled.
          created.enqueueAfter(imageId, 1_000);
        },
        onConnected: () => created.requestResync(),
      },
      log,
    );
    cleanups.push(stopEvents);
    const prober = startProber({
      db: store.db,
      runtime: deps.runtime,
      logger: log,
      probeHost: config.advertiseHost,
      advertiseHost: config.advertiseHost,
    });
    cleanups.push(() => prober.stop());
    const monitor = startHealthMonitor({
      db: store.db,
      observability,
      logger: log,
      intervalMs: config.healthIntervalSeconds * 1000,
      retentionDays: config.healthRetentionDays,
      ...(deps.onHealthSample === undefined ? {} : { onSample: deps.onHealthSample }),
    });
    cleanups.push(() => monitor.stop());
    const onEngineUp = () => created.requestResync();
    deps.engine.on("up", onEngineUp);
    cleanups.push(() => {
      deps.engine.off("up", onEngineUp);
    });
  }

  async function campaign(): Promise<void> {
    if (stopped) return;
    try {
      lock = await store.tryLeaderLock(leaderKey(config.orchestratorId));
    } catch (error) {
      log.warn({ err: error }, "leader election failed; retrying");
    }
    if (lock === undefined) {
      retryTimer = setTimeout(() => void campaign(), 5_000);
      retryTimer.unref();
      return;
    }
    log.info("leading: starting the controller");
    void lock.lost.then(async () => {
      if (stopped) return;
      log.error("leader lock lost (database session ended): stopping the controller");
      await stepDown(5_000);
      void campaign();
    });
    try {
      await lead();
    } catch (error) {
      log.error({ err: error }, "controller failed to start");
      await stepDown(5_000);
      retryTimer = setTimeout(() => void campaign(), 5_000);
      retryTimer.unref();
    }
  }

  async function stepDown(deadlineMs: number): Promise<void> {
    const running = controller;
    controller = undefined;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await running?.stop(deadlineMs);
    await lock?.release();
    lock = undefined;
  }

  void campaign();

  return {
    current: () => controller,
    async stop(deadlineMs) {
      stopped = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      await stepDown(deadlineMs);
    },
  };
}
