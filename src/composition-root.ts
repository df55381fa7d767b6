import type { Hono } from "hono";
import { createApp } from "./api/app.ts";
import { applyRoutes } from "./api/apply-routes.ts";
import { buildRoutes } from "./api/build-routes.ts";
import { addContainerHealthRoutes } from "./api/container-health-routes.ts";
import { containersRoutes } from "./api/containers-routes.ts";
import type { AppEnv } from "./api/env.ts";
import { eventsRoutes } from "./api/events-routes.ts";
import { type HttpServer, listen } from "./api/http-server.ts";
import { imagesRoutes } from "./api/images-routes.ts";
import { sourceRoutes } from "./api/source-routes.ts";
import { type AdminToken, resolveAdminToken } from "./auth/admin-token.ts";
import { createBuildPipeline, prepareBuildFolders } from "./builds/build-pipeline.ts";
import type { Config } from "./config.ts";
import { type ControllerLoop, runControllerLoop } from "./controller/run-controller.ts";
import { createImageService } from "./desired/image-service.ts";
import { connectDocker, type DockerClient, describeDockerHost } from "./docker/connection.ts";
import { EngineWatch } from "./docker/engine-watch.ts";
import { createObservability } from "./docker/observability.ts";
import { createContainerRuntime } from "./docker/runtime.ts";
import { startKafkaRelay } from "./events/kafka-relay.ts";
import { startLocalEventRetention } from "./events/local-retention.ts";
import type { Relay } from "./events/relay.ts";
import { createFleetMetrics } from "./health/metrics.ts";
import { type Logger, redactUrl } from "./logger.ts";
import { createMetrics, type Metrics } from "./metrics/registry.ts";
import { embeddedDatabaseDir, openStore, type Store } from "./store/database.ts";
import { createEventNotifier } from "./store/event-notifier.ts";
import { createTokensRepository } from "./store/tokens-repository.ts";

export type Service = {
  readonly url: string;
  readonly port: number;
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

/** Wires configuration to adapters, the controller and the API, and starts listening. */
export async function startService(config: Config, logger: Logger): Promise<Service> {
  const adminToken = await resolveAdminToken(config.adminToken, config.dataDir);
  const buildFolders = await prepareBuildFolders(config, logger);

  logger.info(
    config.databaseUrl === undefined
      ? { database: "embedded", dataDir: config.dataDir }
      : { database: redactUrl(config.databaseUrl) },
    "opening database",
  );
  const store = await openStore(
    config.databaseUrl === undefined
      ? { kind: "pglite", dataDir: embeddedDatabaseDir(config.dataDir) }
      : { kind: "postgres", url: config.databaseUrl },
  );
  const tokens = createTokensRepository(store.db);
  const admin = await tokens.findUserByName("admin");
  if (admin === undefined) throw new Error("the admin user is missing: migrations did not run");

  const docker = connectDocker(config.dockerHost);
  const runtime = createContainerRuntime(docker);
  const observability = createObservability(docker);
  const engine = new EngineWatch(docker, config.dockerHost, logger);
  engine.start();

  const metrics = createMetrics();
  const eventNotifier = await createEventNotifier(store);
  const shutdown = new AbortController();
  const images = createImageService(store.db, { maxInstancesCap: config.maxInstancesCap });
  const builds = createBuildPipeline({
    db: store.db,
    docker,
    config,
    logger,
    metrics,
    paths: buildFolders,
  });
  const sources = sourceRoutes({
    db: store.db,
    images,
    tokens,
    builds,
    maxInstancesCap: config.maxInstancesCap,
  });

  const app = createApp({
    logger,
    metrics,
    adminToken: adminToken.token,
    adminUserId: admin.userId,
    tokens,
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
    },
    apiRoutes: {
      "/images": imagesRoutes({
        db: store.db,
        images,
        tokens,
        maxInstancesCap: config.maxInstancesCap,
        advertiseHost: config.advertiseHost,
        upload: sources.upload,
        extend: (routes) => {
          sources.extend(routes);
          buildRoutes({ db: store.db, images, builds, shutdown: shutdown.signal })(routes);
        },
      }),
      "/containers": containersRoutes({
        db: store.db,
        images,
        advertiseHost: config.advertiseHost,
        extend: (routes) =>
          addContainerHealthRoutes(routes, {
            db: store.db,
            images,
            observability,
            shutdown: shutdown.signal,
          }),
      }),
      "/apply": applyRoutes({ db: store.db, tokens, maxInstancesCap: config.maxInstancesCap }),
      "/events": eventsRoutes({
        db: store.db,
        onEventsWritten: (callback) => eventNotifier.subscribe(callback),
        shutdown: shutdown.signal,
      }),
    },
  });

  const relay = await startKafkaRelay(config, { store, logger, metrics });
  const localRetention =
    relay === undefined
      ? startLocalEventRetention(store, config.eventRetentionDays, logger)
      : undefined;
  const fleetMetrics = createFleetMetrics(metrics, store.db);
  const controller = runControllerLoop({
    store,
    docker,
    runtime,
    engine,
    config,
    logger,
    metrics,
    onHealthSample: (sample) => fleetMetrics.onSample(sample),
    resolveBuilt: builds.resolveBuilt,
    builtReference: builds.builtReference,
    cleanupImage: builds.cleanupImage,
  });

  let server: HttpServer;
  try {
    server = await listen(app, config.host, config.port);
  } catch (error) {
    await Promise.all([controller.stop(1_000), builds.stop()]);
    await relay?.stop({ timeoutMs: 1_000 });
    localRetention?.stop();
    engine.stop();
    await eventNotifier.close();
    await store.close();
    throw error;
  }
  const url = `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${server.port}`;
  logger.info({ url, port: server.port }, "listening");

  let stopping: Promise<void> | undefined;
  return {
    url,
    port: server.port,
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
        await Promise.all([server.close(graceMs), controller.stop(graceMs), builds.stop()]);
        // Events the controller just wrote go out before the connections close.
        await relay?.stop({ timeoutMs: Math.min(3_000, graceMs) });
        localRetention?.stop();
        engine.stop();
        await eventNotifier.close();
        await store.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}
