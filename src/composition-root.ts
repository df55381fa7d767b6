import type { Hono } from "hono";
import { createTokensService } from "./accounts/tokens-service.ts";
import { createUsersService } from "./accounts/users-service.ts";
import { createApp } from "./api/app.ts";
import type { AppEnv } from "./api/app-env.ts";
import { applyRoutes } from "./api/apply-routes.ts";
import { autoscaleRoutes } from "./api/autoscale-routes.ts";
import { claimsRoutes, destroyRoutes, imageClaimsRoutes } from "./api/claims-routes.ts";
import { containerHealthRoutes } from "./api/container-health-routes.ts";
import { containerLogsRoutes } from "./api/container-logs-routes.ts";
import { containersRoutes } from "./api/containers-routes.ts";
import { eventsRoutes } from "./api/events-routes.ts";
import { type HttpServer, listen } from "./api/http-server.ts";
import { imageBuildRoutes } from "./api/image-build-routes.ts";
import { imageUploadRoutes } from "./api/image-upload-routes.ts";
import { imagesRoutes } from "./api/images-routes.ts";
import type { ContractViolation } from "./api/openapi/response-check.ts";
import { poolCompatApp } from "./api/pool-compat-app.ts";
import type { ContainerLogs } from "./api/ports.ts";
import { registriesRoutes } from "./api/registries-routes.ts";
import { revisionsRoutes } from "./api/revisions-routes.ts";
import { rolloutRoutes } from "./api/rollout-routes.ts";
import { secretsRoutes } from "./api/secrets-routes.ts";
import { volumesRoutes } from "./api/volumes-routes.ts";
import { type AdminToken, resolveAdminToken } from "./auth/admin-token.ts";
import { createBuildPipeline, prepareBuildFolders } from "./builds/build-pipeline.ts";
import type { Config } from "./config.ts";
import { type ControllerLoop, runControllerLoop } from "./controller/run-controller.ts";
import { createImageService } from "./desired/image-service.ts";
import { createRollbackService } from "./desired/rollback.ts";
import { createVolumeService, type VolumeEngine } from "./desired/volume-service.ts";
import { wakeImage } from "./desired/wake.ts";
import { connectDocker, type DockerClient, describeDockerHost } from "./docker/connection.ts";
import { createContainerLogs } from "./docker/container-logs.ts";
import { createContainerStats } from "./docker/container-stats.ts";
import { EngineWatch } from "./docker/engine-watch.ts";
import { hasImageId } from "./docker/images.ts";
import { dockerStatus } from "./docker/retry.ts";
import { createContainerRuntime } from "./docker/runtime.ts";
import { createSwarmRuntime } from "./docker/swarm.ts";
import { createVolumes } from "./docker/volumes.ts";
import type { QuotaPolicy } from "./domain/quota.ts";
import { openEventLog } from "./events/event-log.ts";
import { startKafkaRelay } from "./events/kafka-relay.ts";
import { startLocalEventRetention } from "./events/local-retention.ts";
import type { Relay } from "./events/relay.ts";
import { createFleetMetrics } from "./health/fleet-metrics.ts";
import { type Logger, redactUrl } from "./logger.ts";
import { createMetrics, type Metrics } from "./metrics/registry.ts";
import { createClaimsService } from "./pools/claims-service.ts";
import { createRegistriesService } from "./secrets/registries-service.ts";
import { createSecretOpener } from "./secrets/secret-opener.ts";
import { resolveSecretsKey } from "./secrets/secrets-key.ts";
import { createSecretsService } from "./secrets/secrets-service.ts";
import { embeddedDatabaseDir, openStore, type Store } from "./store/database.ts";
import { startEmbeddedAutovacuum } from "./store/embedded-autovacuum.ts";

export type Service = {
  readonly url: string;
  readonly port: number;
  /** The pool compat listener's port, when POOL_COMPAT_PORT is set. */
  readonly compatPort: number | undefined;
  readonly app: Hono<AppEnv>;
  readonly store: Store;
  readonly docker: DockerClient;
  readonly adminToken: AdminToken;
  readonly metrics: Metrics;
  readonly controller: ControllerLoop;
  /** The outbox relay to Kafka; undefined without KAFKA_BROKERS. */
  readonly relay: Relay | undefined;
  /** Graceful stop: no new requests, in-flight ones finish, then everything is closed. */
  stop(): Promise<void>;
};

/**
 * The composition root: the one place that builds the adapters (database, Docker, Kafka),
 * hands them to the services, the controller and the API, and starts listening. Everything
 * else receives what it needs; nothing else constructs an adapter.
 */
/** What the embedding code (tests, the library) may add to a service. */
export type ServiceOptions = {
  /** Check every answer against the OpenAPI document (the test servers do). */
  readonly onContractViolation?: (violation: ContractViolation) => void;
  /** `false`: no HTTP port; requests reach `service.app.fetch` in-process (the library). */
  readonly listen?: boolean;
  /** The embedded database in memory rather than under DATA_DIR (gone at stop). */
  readonly memoryDatabase?: boolean;
};

/** The base URL of a service that does not listen: requests go to `app.fetch` directly. */
export const inProcessUrl = "http://orchestrator.in-process";

export async function startService(
  config: Config,
  logger: Logger,
  options: ServiceOptions = {},
): Promise<Service> {
  const adminToken = await resolveAdminToken(config.adminToken, config.dataDir);
  const secretsKey = await resolveSecretsKey(config.secretsKey, config.dataDir);
  if (secretsKey.origin === "generated") {
    logger.warn(
      { file: secretsKey.file },
      "generated the key of secrets and registry passwords; back it up (without it they cannot be read), or set SECRETS_KEY (needed when several processes share a database)",
    );
  }
  const buildFolders = await prepareBuildFolders(config, logger);

  logger.info(
    config.databaseUrl === undefined
      ? { database: "embedded", dataDir: config.dataDir }
      : { database: redactUrl(config.databaseUrl) },
    "opening database",
  );
  const store = await openStore(
    config.databaseUrl === undefined
      ? {
          kind: "pglite",
          dataDir: options.memoryDatabase ? undefined : embeddedDatabaseDir(config.dataDir),
        }
      : { kind: "postgres", url: config.databaseUrl },
  );
  if (store.embedded !== undefined) {
    logger.info(
      { origin: store.embedded.origin, templateUnused: store.embedded.templateUnused },
      "embedded database opened",
    );
    if (!process.execArgv.includes("--liftoff-only")) {
      logger.warn(
        "node runs without --liftoff-only: optimising the embedded database's SQL parser takes seconds of CPU and several hundred MiB (npm start passes the flag)",
      );
    }
  }
  const admin = await store.users.findByName("admin");
  if (admin === undefined) throw new Error("the admin user is missing: migrations did not run");
  // Quotas bound tenants; the admin user (the operator's own) has none unless the admin sets them.
  const quota: QuotaPolicy = { defaults: config.quota, unlimitedUsers: new Set([admin.id]) };

  const docker = connectDocker(config.dockerHost);
  const runtime = createContainerRuntime(docker, {
    onNoDiskQuota: (message) =>
      logger.warn(
        { limit: config.containerDiskLimit, engine: message },
        "the storage driver cannot limit a container's disk; CONTAINER_DISK_LIMIT is not applied",
      ),
  });
  const swarm = config.runtime === "swarm" ? createSwarmRuntime(docker) : undefined;
  if (swarm !== undefined && !(await swarm.isManager())) {
    throw new Error(
      "RUNTIME=swarm needs a Docker engine that is a Swarm manager: run `docker swarm init` (or join it to a swarm as a manager), or set RUNTIME=docker",
    );
  }
  const containerLogs = createContainerLogs(docker);
  const engine = new EngineWatch(docker, config.dockerHost, logger);
  engine.start();

  const metrics = createMetrics();
  const eventLog = await openEventLog(store);
  const shutdown = new AbortController();
  // Which images an owner may run or build from; every desired-state write needs part of it.
  const access = {
    orchestratorId: config.orchestratorId,
    builtImagePrefix: config.imageNamePrefix,
    allowedLocalImages: config.allowedLocalImages,
    adminUserId: admin.id,
  };
  const writeSettings = {
    ...access,
    quota,
    hostPortRange: config.hostPortRange,
    bindMountAllowlist: config.bindMountAllowlist,
    reservedHostnames: config.routerMetricsUrls.map((url) => new URL(url).hostname),
  };
  const images = createImageService(store, {
    ...writeSettings,
    maxInstancesCap: config.maxInstancesCap,
    orchestratorId: config.orchestratorId,
  });
  const rollouts = createRollbackService(
    store,
    { imagePresent: (dockerImageId) => hasImageId(docker, dockerImageId) },
    writeSettings,
  );
  const secretOpener = createSecretOpener(store, secretsKey.key);
  const builds = createBuildPipeline({
    store,
    docker,
    config,
    logger,
    metrics,
    paths: buildFolders,
    access,
    writeSettings,
    registryAuth: secretOpener.registryAuth,
  });
  const volumes = createVolumeService(store, volumeEngine(docker, config.orchestratorId), {
    orchestratorId: config.orchestratorId,
  });
  const claims = createClaimsService(store, {
    ...writeSettings,
    orchestratorId: config.orchestratorId,
    advertiseHost: config.advertiseHost,
  });
  const tokens = createTokensService(store);
  const secrets = createSecretsService(store, secretsKey.key);
  const registries = createRegistriesService(store, secretsKey.key);
  const users = createUsersService(store, quota);

  const imageRoutes = { images, users: store.users, maxInstancesCap: config.maxInstancesCap };
  const host = config.advertiseHost;
  const app = createApp({
    ...(options.onContractViolation === undefined
      ? {}
      : { onContractViolation: options.onContractViolation }),
    logger,
    metrics,
    adminToken: adminToken.token,
    adminUserId: admin.id,
    metricsToken: config.metricsToken,
    tokens,
    users,
    audit: store.audit,
    limits: {
      bodyMaxBytes: config.bodyMaxBytes,
      uploadMaxConcurrent: config.uploadMaxConcurrent,
      writesPerMinute: config.rateLimitWritesPerMinute,
      authFailuresPerMinute: config.authFailuresPerMinute,
    },
    databaseReachable: () =>
      Promise.race([
        store.ping().then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref()),
      ]),
    readiness: {
      database: async () => {
        await store.ping();
        return { ok: true, backend: store.kind };
      },
      docker: async () => {
        const state = await engine.check();
        return state.reachable
          ? { ok: true, version: state.version, host: describeDockerHost(config.dockerHost) }
          : { ok: false, error: state.error };
      },
      // Which builder runs builds; never "down" itself (the docker check says the engine is away).
      builds: async () => {
        try {
          return { ok: true, ...(await builds.builderStatus()) };
        } catch {
          return { ok: true, builder: "unknown: the engine is unreachable" };
        }
      },
    },
    apiRoutes: [
      // Multipart uploads first: JSON to POST /images falls through to imagesRoutes.
      ["/images", imageUploadRoutes({ ...imageRoutes, builds })],
      ["/images", imagesRoutes({ ...imageRoutes, advertiseHost: host })],
      ["/images", imageBuildRoutes({ images, builds, shutdown: shutdown.signal })],
      ["/images", imageClaimsRoutes({ claims, advertiseHost: host })],
      ["/images", revisionsRoutes({ images: store.images, revisions: store.revisions })],
      ["/images", rolloutRoutes({ rollouts })],
      [
        "/images",
        autoscaleRoutes({
          images: store.images,
          status: store.autoscaleStatus,
          events: store.events,
          wake: (scope, imageId) => wakeImage(store, writeSettings, scope, imageId),
        }),
      ],
      ["/claims", claimsRoutes({ claims, advertiseHost: host })],
      ["/containers", destroyRoutes({ claims, advertiseHost: host })],
      ["/containers", containersRoutes({ images, advertiseHost: host })],
      ["/containers", containerHealthRoutes({ images, snapshots: store.healthSnapshots })],
      [
        "/containers",
        containerLogsRoutes({
          images,
          logs: logsPort(containerLogs),
          shutdown: shutdown.signal,
        }),
      ],
      ["/volumes", volumesRoutes({ volumes, users: store.users })],
      ["/apply", applyRoutes(imageRoutes)],
      [
        "/events",
        eventsRoutes({
          events: eventLog,
          shutdown: shutdown.signal,
          samples: store.healthSnapshots,
        }),
      ],
      ["/secrets", secretsRoutes({ secrets, users: store.users })],
      ["/registries", registriesRoutes({ registries, users: store.users })],
    ],
  });

  const relay = await startKafkaRelay(config, { store, logger, metrics });
  const localRetention =
    relay === undefined
      ? startLocalEventRetention(store, config.eventRetentionDays, logger)
      : undefined;
  // A Postgres server has its own autovacuum; the embedded database has none (single-user mode).
  const embeddedVacuum =
    store.kind === "pglite" ? startEmbeddedAutovacuum(store, logger) : undefined;
  const fleetMetrics = createFleetMetrics(metrics, store);
  const controller = runControllerLoop({
    store,
    docker,
    runtime,
    swarm,
    engine,
    config,
    logger,
    metrics,
    access,
    builtImages: builds.builtImages,
    containerStats: createContainerStats(docker),
    logTail: (containerId, lines) => containerLogs.tail(containerId, lines),
    secrets: secretOpener,
    onHealthSample: (sample) => fleetMetrics.onSample(sample),
    writeSettings,
  });

  let server: HttpServer;
  let compatServer: HttpServer | undefined;
  try {
    server =
      options.listen === false
        ? { port: 0, close: async () => {} }
        : await listen(app, config.host, config.port, config.tls);
    if (config.poolCompat !== undefined) {
      const compat = config.poolCompat;
      compatServer = await listen(
        poolCompatApp({
          claims,
          advertiseHost: host,
          logger,
          claimWaitMs: 10_000,
          instancesOf: (imageId) => store.instances.listOfImage(imageId),
          dockerReachable: async () => (await engine.check()).reachable,
          target: async () => {
            const owner = await store.users.findByName(compat.user);
            const image =
              owner === undefined
                ? undefined
                : await store.images.findByName(owner.id, compat.image);
            if (owner === undefined || image === undefined) return undefined;
            return {
              image,
              // Audited as the owner, through the compat listener (no token).
              scope: {
                userId: owner.id,
                actor: {
                  userId: owner.id,
                  name: compat.user,
                  tokenId: null,
                  tokenName: "pool-compat",
                },
              },
            };
          },
        }),
        compat.host,
        compat.port,
      );
      logger.info(
        { host: compat.host, port: compatServer.port, image: compat.image, user: compat.user },
        "pool compat listener up",
      );
    }
  } catch (error) {
    await compatServer?.close(1_000);
    await Promise.all([controller.stop(1_000), builds.stop()]);
    await relay?.stop({ timeoutMs: 1_000 });
    localRetention?.stop();
    await embeddedVacuum?.stop();
    engine.stop();
    await eventLog.close();
    await store.close();
    throw error;
  }
  const url =
    options.listen === false
      ? inProcessUrl
      : `${config.tls === undefined ? "http" : "https"}://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${server.port}`;
  if (options.listen !== false) logger.info({ url, port: server.port }, "listening");

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: server.port,
    compatPort: compatServer?.port,
    app,
    store,
    docker,
    adminToken,
    metrics,
    controller,
    relay,
    stop: () => {
      stopping ??= (async () => {
        logger.info("shutting down");
        const graceMs = Math.max(1_000, config.shutdownTimeoutSeconds * 1000 - 4_000);
        shutdown.abort();
        // Running builds are abandoned: left `building`, they start again at the next start.
        await Promise.all([
          server.close(graceMs),
          compatServer?.close(graceMs),
          controller.stop(graceMs),
          builds.stop(),
        ]);
        // Events the controller just wrote go out before the connections close.
        await relay?.stop({ timeoutMs: Math.min(3_000, graceMs) });
        localRetention?.stop();
        await embeddedVacuum?.stop();
        engine.stop();
        await eventLog.close();
        await store.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}

/** The engine's volumes as the volume service reads them: only this controller's. */
function volumeEngine(docker: DockerClient, orchestratorId: string): VolumeEngine {
  const volumes = createVolumes(docker);
  return {
    list: (userId) => volumes.list(orchestratorId, userId),
    find: (dockerName) => volumes.find(orchestratorId, dockerName),
    remove: (dockerName) => volumes.remove(dockerName),
  };
}

/** The engine's logs as the API reads them: a container gone from the engine is `undefined`. */
function logsPort(logs: ReturnType<typeof createContainerLogs>): ContainerLogs {
  return {
    tail: (containerId, lines, since) => logs.tail(containerId, lines, since),
    follow: async (containerId, options) => {
      try {
        return await logs.follow(containerId, options);
      } catch (error) {
        if (dockerStatus(error).status === 404) return undefined;
        throw error;
      }
    },
  };
}
