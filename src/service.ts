import type { Hono } from "hono";
import { createApp } from "./api/app.ts";
import type { AppEnv } from "./api/env.ts";
import { type HttpServer, listen } from "./api/http-server.ts";
import { type AdminToken, resolveAdminToken } from "./auth/admin-token.ts";
import type { Config } from "./config.ts";
import { connectDocker, type DockerClient, describeDockerHost } from "./docker/connection.ts";
import { EngineWatch } from "./docker/engine-watch.ts";
import { type Logger, redactUrl } from "./logger.ts";
import { createMetrics, type Metrics } from "./metrics/registry.ts";
import { embeddedDatabaseDir, openStore, type Store } from "./store/database.ts";
import { createTokensRepository } from "./store/tokens-repository.ts";

export type Service = {
  readonly url: string;
  readonly port: number;
  readonly app: Hono<AppEnv>;
  readonly store: Store;
  readonly docker: DockerClient;
  readonly adminToken: AdminToken;
  readonly metrics: Metrics;
  /** Graceful stop: no new requests, in-flight ones finish, then everything is closed. */
  stop(): Promise<void>;
};

/** Wires configuration to adapters, the controller and the API, and starts listening. */
export async function startService(config: Config, logger: Logger): Promise<Service> {
  const adminToken = await resolveAdminToken(config.adminToken, config.dataDir);

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
  const engine = new EngineWatch(docker, config.dockerHost, logger);
  engine.start();

  const metrics = createMetrics();
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
  });

  let server: HttpServer;
  try {
    server = await listen(app, config.host, config.port);
  } catch (error) {
    engine.stop();
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
    stop: () => {
      stopping ??= (async () => {
        logger.info("shutting down");
        await server.close(Math.max(1_000, config.shutdownTimeoutSeconds * 1000 - 3_000));
        engine.stop();
        await store.close();
        logger.info("stopped");
      })();
      return stopping;
    },
  };
}
