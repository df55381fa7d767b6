import { packContext } from "../archive/pack-context.ts";
import type { Config } from "../config.ts";
import type { WriteSettings } from "../desired/image-writes.ts";
import { type BuilderKind, createImageBuilder } from "../docker/build.ts";
import type { DockerClient } from "../docker/connection.ts";
import type { ReferenceAccess } from "../domain/image-access.ts";
import { runnableReference } from "../domain/names.ts";
import { limitsOf } from "../domain/quota.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/registry.ts";
import type { BuiltImages } from "../reconcilers/image/ports.ts";
import type { BuildRecord } from "../store/builds-repository.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import { overridesOf } from "../store/users-repository.ts";
import { type BuildLogFiles, createBuildLogFiles } from "./build-log-files.ts";
import { createBuildMetrics } from "./build-metrics.ts";
import { type BuildPaths, resolveBuildPaths } from "./build-paths.ts";
import type { RegistryAuthLookup } from "./build-preflight.ts";
import { type BuildQueue, type BuildTenant, createBuildQueue } from "./build-queue.ts";
import { createBuiltImageRegistry } from "./built-image-registry.ts";
import { createBuildCleanup } from "./cleanup.ts";
import { createBuildPruner } from "./prune-builds.ts";
import { createBuiltResolver } from "./resolve-built.ts";
import { createBuildRunner } from "./run-build.ts";
import { createSourceService, type SourceService } from "./source-service.ts";

export type BuildState = {
  readonly image: ImageRecord | undefined;
  readonly build: BuildRecord | undefined;
};

export type BuildPipeline = {
  readonly paths: BuildPaths;
  readonly logs: BuildLogFiles;
  readonly queue: BuildQueue;
  readonly sources: SourceService;
  readonly limits: {
    readonly uploadMaxBytes: number;
    readonly extractMaxBytes: number;
    readonly extractMaxEntries: number;
  };
  /** An image's row and its build bookkeeping as they are now (for following a build). */
  current(imageId: number): Promise<BuildState>;
  /** What the controller asks of the pipeline: what an upload runs, and cleaning up after it. */
  readonly builtImages: BuiltImages;
  /** Which builder the engine offers, for /readyz (asks the engine the first time). */
  builderStatus(): Promise<BuilderStatus>;
  /** Aborts running builds (they resume at the next start) and starts no more. */
  stop(): Promise<void>;
};

export type BuilderStatus = {
  readonly builder: BuilderKind;
  /** Memory and CPU limits of build steps: applied, or why not. */
  readonly limits: string;
};

/** Decides (and prepares) the folders of sources and build logs, once at start. */
export async function prepareBuildFolders(config: Config, logger: Logger): Promise<BuildPaths> {
  const paths = await resolveBuildPaths(config, logger);
  logger.info({ contextBase: paths.contextBase, logs: paths.logs }, "build folders ready");
  return paths;
}

/** Builds of uploaded sources: where they are kept, the build queue, and the controller hooks. */
export function createBuildPipeline(deps: {
  readonly store: Store;
  readonly docker: DockerClient;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly paths: BuildPaths;
  /** Which images an owner may build from. */
  readonly access: ReferenceAccess;
  /** The desired-state write settings, quotas included (sources create and change images). */
  readonly writeSettings: WriteSettings;
  /** An owner's stored credentials for a base image's registry. */
  readonly registryAuth?: RegistryAuthLookup | undefined;
}): BuildPipeline {
  const { config, paths } = deps;
  const log = deps.logger.child({ component: "builds" });
  const builder = createImageBuilder(deps.docker, {
    onLimitsUnavailable: (reason) =>
      log.warn(
        { reason },
        "cannot limit the memory and CPU of BuildKit's build steps; builds keep their time limit",
      ),
    onDetected: (kind) => {
      if (kind === "buildkit") log.info({ builder: kind }, "builds use BuildKit");
      else
        log.warn(
          { builder: kind },
          "the engine has no BuildKit: builds use the classic builder (no RUN --mount, no build cache mounts)",
        );
    },
  });
  const logs = createBuildLogFiles(paths.logs);
  const registry =
    config.registry === undefined ? undefined : createBuiltImageRegistry(builder, config.registry);
  if (config.registry !== undefined) {
    log.info(
      {
        registry: config.registry.repositoryPrefix,
        withCredentials: config.registry.username !== undefined,
      },
      "built images are pushed to the registry",
    );
  }
  const builtReference = (image: ImageRecord) => runnableReference(image, config.imageNamePrefix);
  const settings = deps.writeSettings;
  /** An image's owner and their concurrent-builds quota, for the queue's per-user lanes. */
  const tenantOf = async (imageId: number): Promise<BuildTenant | undefined> => {
    const userId = await deps.store.images.ownerOf(imageId);
    if (userId === undefined) return undefined;
    const user = await deps.store.users.find(userId);
    const overrides = user === undefined ? {} : overridesOf(user);
    const limits =
      settings.quota === undefined ? undefined : limitsOf(settings.quota, userId, overrides);
    return { userId, maxConcurrent: limits?.concurrentBuilds ?? config.buildConcurrency };
  };
  const pruner = createBuildPruner({
    builder,
    orchestratorId: config.orchestratorId,
    logger: log,
    keptImages: (imageId) => deps.store.revisions.keptImageIds(imageId),
  });
  // Its gauges read the queue when scraped, once everything below exists.
  const buildMetrics = createBuildMetrics(deps.metrics, () => builds);
  const runBuild = createBuildRunner({
    store: deps.store,
    builder,
    logs,
    pruner,
    packContext,
    referenceOf: builtReference,
    orchestratorId: config.orchestratorId,
    access: deps.access,
    registryAuth: deps.registryAuth,
    registry,
    limits: { memoryBytes: config.buildMemoryBytes, nanoCpus: config.buildNanoCpus },
    timeoutSeconds: config.buildTimeoutSeconds,
    logger: log,
    onEnded: buildMetrics.ended,
  });
  const builds = createBuildQueue({
    concurrency: config.buildConcurrency,
    tenantOf,
    run: runBuild,
    onError: (imageId, error) =>
      log.error({ imageId, err: error }, "build crashed; it is retried at the next reconcile"),
  });
  return {
    paths,
    logs,
    queue: builds,
    sources: createSourceService(deps.store, paths, settings),
    limits: {
      uploadMaxBytes: config.uploadMaxBytes,
      extractMaxBytes: config.extractMaxBytes,
      extractMaxEntries: config.extractMaxEntries,
    },
    current: async (imageId) => {
      const [image, build] = await Promise.all([
        deps.store.images.find(imageId),
        deps.store.builds.find(imageId),
      ]);
      return { image, build };
    },
    builtImages: {
      resolve: createBuiltResolver({
        store: deps.store,
        queue: builds,
        pruner,
        writeSettings: settings,
        imageId: (reference) => builder.imageId(reference),
        async retag(dockerImageId, reference) {
          if (!(await builder.hasImage(dockerImageId))) return false;
          await builder.tag(dockerImageId, reference);
          log.info({ dockerImageId, reference }, "built tag moved back to a kept build");
          return true;
        },
        restore: registry?.restore,
        onRestoreFailed: (imageId, error) =>
          log.warn(
            { imageId, err: error },
            "could not pull a pushed build back from the registry; building it again",
          ),
      }),
      cleanup: createBuildCleanup({
        queue: builds,
        pruner,
        builder,
        logs,
        paths,
        orchestratorId: config.orchestratorId,
        logger: log,
      }),
    },
    builderStatus: async () => {
      const kind = await builder.kind();
      const unavailable = builder.limitsUnavailable();
      return {
        builder: kind,
        limits:
          kind === "classic"
            ? "per build (the classic builder applies them)"
            : unavailable === undefined
              ? "all builds together (the engine's buildkit cgroup)"
              : `not applied: ${unavailable}`,
      };
    },
    stop: () => builds.stop(),
  };
}
