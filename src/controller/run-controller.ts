import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as delay } from "node:timers/promises";
import pMap from "p-map";
import { startAutoscaler } from "../autoscaler/autoscaler.ts";
import { createAutoscalerMetrics } from "../autoscaler/autoscaler-metrics.ts";
import { createRouterRates } from "../autoscaler/router-rates.ts";
import type { Config } from "../config.ts";
import type { WriteSettings } from "../desired/image-writes.ts";
import type { DockerClient } from "../docker/connection.ts";
import type { EngineWatch } from "../docker/engine-watch.ts";
import { createNodeFacts } from "../docker/node-facts.ts";
import { isEngineUnreachable } from "../docker/retry.ts";
import type { ContainerRuntime } from "../docker/runtime.ts";
import type { SwarmRuntime } from "../docker/swarm.ts";
import type { ReferenceAccess } from "../domain/image-access.ts";
import { imageIdOf } from "../domain/labels.ts";
import { startHealthMonitor } from "../health/monitor.ts";
import { startProber } from "../health/prober.ts";
import type { ContainerStats } from "../health/stats-port.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/registry.ts";
import { createContainerNews } from "../reconcilers/image/container-news.ts";
import { hasOurName } from "../reconcilers/image/ownership.ts";
import type { ContainerLogTail, ImageCleanup, ImageResolver } from "../reconcilers/image/ports.ts";
import { createImageReconciler } from "../reconcilers/image/reconciler.ts";
import { createImageResolver } from "../reconcilers/image/resolve-image.ts";
import { createSwarmReconciler } from "../reconcilers/swarm/swarm-reconciler.ts";
import type { SecretOpener } from "../secrets/secret-opener.ts";
import type { Store } from "../store/database.ts";
import type { NewHealthSnapshot } from "../store/health-snapshots-repository.ts";
import { type Controller, createController } from "./controller.ts";
import { createControllerMetrics } from "./controller-metrics.ts";
import { fencedRuntime, fencedStore, fencedSwarm } from "./fencing.ts";
import { runWhileLeading } from "./leader-election.ts";
import { watchDockerEvents } from "./sources/docker-events.ts";
import { watchEngineUp } from "./sources/engine-up.ts";
import { watchImageNotifications } from "./sources/image-notifications.ts";
import { resyncPeriodically } from "./sources/periodic-resync.ts";
import { findKeysNeedingWork } from "./sources/resync.ts";
import { createWorkQueue } from "./workqueue.ts";

export type ControllerLoopDependencies = {
  readonly store: Store;
  readonly docker: DockerClient;
  readonly runtime: ContainerRuntime;
  /** RUNTIME=swarm: images run as Swarm services (the container runtime then only observes). */
  readonly swarm?: SwarmRuntime | undefined;
  readonly engine: EngineWatch;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Which images an owner may run (domain/image-access.ts). */
  readonly access: ReferenceAccess;
  /** Upload images: the build pipeline says when and what they run, and cleans up after them. */
  readonly builtImages?: { readonly resolve: ImageResolver; readonly cleanup: ImageCleanup };
  readonly containerStats: ContainerStats;
  readonly logTail: ContainerLogTail;
  /** Secrets and registry credentials, opened for the containers and pulls that need them. */
  readonly secrets?: SecretOpener | undefined;
  /** Every health sample, e.g. for per-container metrics. */
  readonly onHealthSample?: (sample: NewHealthSnapshot) => void;
  /** What the autoscaler's writes of desired_instances are checked against (quotas, …). */
  readonly writeSettings: WriteSettings;
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
 * Runs the controller while this process leads, fed by its sources (./sources/): NOTIFY on
 * desired-state writes, Docker's event stream, the engine coming back, and the periodic
 * resync. The health prober, the resource monitor and the autoscaler run beside it.
 */
export function runControllerLoop(deps: ControllerLoopDependencies): ControllerLoop {
  const { store, config } = deps;
  const log = deps.logger.child({ component: "controller" });
  let controller: Controller | undefined;
  let queue = createWorkQueue<number>();
  const controllerMetrics = createControllerMetrics(
    deps.metrics,
    () => queue,
    () => deps.engine.state.reachable,
  );

  const autoscalerMetrics = createAutoscalerMetrics(deps.metrics);

  const leaseName = `controller:${config.orchestratorId}`;
  const leadership = runWhileLeading({
    tryLock: () =>
      store.tryLeaderLock({
        key: leaderKey(config.orchestratorId),
        name: leaseName,
        holder: `${hostname()}:${process.pid}`,
      }),
    logger: log,
    onLeading: (leading) => controllerMetrics.leading.set(leading ? 1 : 0),
    lead: async (term) => {
      // Everything this term writes is fenced by its epoch (fencing.ts): Docker writes wait
      // for a fresh check of the lock, database writes hold the lease row at the epoch.
      const runtime = fencedRuntime(deps.runtime, (write) => term.fence(write));
      const termStore = fencedStore(store, { name: leaseName, epoch: term.epoch });
      const containerNews = createContainerNews();
      const reconcilerDependencies = {
        store: termStore,
        runtime,
        logger: log,
        settings: {
          orchestratorId: config.orchestratorId,
          advertiseHost: config.advertiseHost,
          publishIp: config.publishIp,
          builtImagePrefix: config.imageNamePrefix,
          stopTimeoutSeconds: config.stopTimeoutSeconds,
          actionConcurrency: 4,
          pidsLimit: config.containerPidsLimit,
          openFilesLimit: config.containerNofileLimit,
          diskLimit: config.containerDiskLimit,
          adminUserId: deps.access.adminUserId,
          bindMountAllowlist: config.bindMountAllowlist,
        },
        resolveImage: createImageResolver(
          runtime,
          log,
          deps.access,
          deps.builtImages?.resolve,
          deps.secrets?.registryAuth,
        ),
        resolveSecrets: deps.secrets?.resolveSecrets,
        ...(deps.builtImages === undefined ? {} : { cleanupImage: deps.builtImages.cleanup }),
        logTail: deps.logTail,
        containerNews,
        nodeFacts: createNodeFacts(deps.docker),
      };
      const reconciler =
        deps.swarm === undefined
          ? createImageReconciler(reconcilerDependencies)
          : createSwarmReconciler({
              ...reconcilerDependencies,
              swarm: fencedSwarm(deps.swarm, (write) => term.fence(write)),
            });
      queue = createWorkQueue<number>();
      const created = createController({
        queue,
        workers: config.reconcileWorkers,
        reconcile: (imageId) => reconciler.reconcile(imageId),
        listAllKeys: async () => {
          const containers = await runtime.listManaged(config.orchestratorId);
          const keys = new Set(await store.images.listIds());
          for (const container of containers) {
            if (!hasOurName(container, config.orchestratorId)) continue;
            const imageId = imageIdOf(container.labels);
            if (imageId !== undefined) keys.add(imageId);
          }
          // A service whose image row is gone (a crash mid-deletion) is a key too.
          for (const service of (await deps.swarm?.listServices(config.orchestratorId)) ?? []) {
            const imageId = imageIdOf(service.labels);
            if (imageId !== undefined) keys.add(imageId);
          }
          return [...keys];
        },
        resync: () =>
          findKeysNeedingWork({
            store,
            runtime,
            orchestratorId: config.orchestratorId,
            builtImagePrefix: config.imageNamePrefix,
          }),
        removeUnowned: async (containerIds) => {
          await pMap(containerIds, (id) => runtime.remove(id), { concurrency: 4 });
          log.info({ count: containerIds.length }, "unowned containers removed");
        },
        logger: log,
        metrics: controllerMetrics,
        engineReachable: (signal) => deps.engine.whenReachable(signal),
        engineAway: async (error) =>
          isEngineUnreachable(error) && !(await deps.engine.check()).reachable,
      });
      term.defer(async (deadlineMs) => {
        controller = undefined;
        await created.stop(deadlineMs);
      });
      term.defer(await watchImageNotifications(store, created));

      // The first full list needs Docker: wait for it, retrying, while the term lasts.
      while (term.active) {
        try {
          await created.start();
          break;
        } catch (error) {
          // Stop came while the list was on the wire (and closed what it read): nothing to retry.
          if (!term.active) break;
          log.warn({ err: error }, "controller could not list Docker and the database; retrying");
          await delay(2_000, undefined, { signal: term.signal }).catch(() => {});
        }
      }
      // Stop came while the first list was on the wire: start nothing in an ended term.
      if (!term.active) {
        log.debug("controller stopped while starting");
        return;
      }
      controller = created;

      term.defer(
        watchDockerEvents(deps.docker, config.orchestratorId, created, log, {
          engine: deps.engine,
          news: containerNews,
        }),
      );
      term.defer(watchEngineUp(deps.engine, created));
      term.defer(resyncPeriodically(created, config.resyncIntervalSeconds * 1000));
      const prober = startProber({
        store: termStore,
        runtime,
        logger: log,
        probeHost: config.probeHost,
        advertiseHost: config.advertiseHost,
        builtImagePrefix: config.imageNamePrefix,
      });
      term.defer(() => prober.stop());
      const monitor = startHealthMonitor({
        store,
        stats: deps.containerStats,
        logger: log,
        intervalMs: config.healthIntervalSeconds * 1000,
        retentionDays: config.healthRetentionDays,
        engineReachable: () => deps.engine.state.reachable,
        ...(deps.onHealthSample === undefined ? {} : { onSample: deps.onHealthSample }),
      });
      term.defer(() => monitor.stop());
      const autoscaler = startAutoscaler({
        store,
        writeStore: termStore,
        logger: log,
        intervalMs: config.autoscaleIntervalSeconds * 1000,
        // A sample counts while the monitor could not have taken a newer one (3 intervals).
        sampleMaxAgeMs: Math.max(3 * config.healthIntervalSeconds, 5) * 1000,
        settings: deps.writeSettings,
        metrics: autoscalerMetrics,
        requestRates:
          config.routerMetricsUrls.length === 0
            ? undefined
            : createRouterRates({
                urls: config.routerMetricsUrls,
                logger: log,
                ...(config.routerMetricsToken === undefined
                  ? {}
                  : { token: config.routerMetricsToken }),
              }),
      });
      term.defer(() => autoscaler.stop());
    },
  });

  return {
    current: () => controller,
    stop: (deadlineMs) => leadership.stop(deadlineMs),
  };
}
