import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Orchestrator } from "../client/orchestrator.ts";
import { type Service, startService } from "../composition-root.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../logger.ts";

export type CreateOrchestratorOptions = {
  /**
   * Where the embedded database, build contexts and logs live; by default a temporary folder
   * (removed at `shutdown`) with the database in memory.
   */
  readonly dataDir?: string;
  /** A Postgres server instead of the embedded database. */
  readonly databaseUrl?: string;
  /** Serve the HTTP API on this port too (0: any free one); by default there is no port. */
  readonly port?: number;
  /** The address the port listens on (default 127.0.0.1). */
  readonly host?: string;
  /** The `managed-by` label of the containers (default `orchestrator`). */
  readonly orchestratorId?: string;
  /** pino's level for the engine's log (default `warn`). */
  readonly logLevel?: string;
  /**
   * Settings of the configuration table (README) by their variable's name; the process's
   * environment applies too (DOCKER_HOST, ORCHESTRATOR_ID, DATABASE_URL, …), these win.
   */
  readonly env?: Readonly<Record<string, string>>;
};

/** The engine in this process, behind the client interface of `orchestrator/client`. */
export class EmbeddedOrchestrator extends Orchestrator {
  readonly service: Service;
  readonly #shutdown: () => Promise<void>;

  constructor(service: Service, shutdown: () => Promise<void>) {
    super({
      url: service.url,
      token: service.adminToken.token,
      // No port: requests go to the app directly; with one, over HTTP like anyone's.
      ...(service.port === 0
        ? { fetch: async (request: Request) => service.app.fetch(request) }
        : {}),
    });
    this.service = service;
    this.#shutdown = shutdown;
  }

  /** The admin token (for other clients of the same engine). */
  get token(): string {
    return this.service.adminToken.token;
  }

  /** Stops the engine gracefully; managed containers keep running (`stopAll` first to stop them). */
  async shutdown(): Promise<void> {
    this.close();
    await this.#shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/**
 * Runs the whole engine (database, controller, build queue, API) inside this process on the
 * local Docker engine and answers the same client as `new Orchestrator(...)`:
 *
 * ```ts
 * const orchestrator = await createOrchestrator();
 * await orchestrator.startMany([{ name: "db", image: "postgres:17" }]);
 * ```
 */
export async function createOrchestrator(
  options: CreateOrchestratorOptions = {},
): Promise<EmbeddedOrchestrator> {
  const temporary =
    options.dataDir === undefined ? await mkdtemp(path.join(tmpdir(), "orchestrator-")) : undefined;
  const dataDir = options.dataDir ?? (temporary as string);
  const listen = options.port !== undefined;
  try {
    const config = loadConfig({
      ...process.env,
      DATA_DIR: dataDir,
      BUILD_CONTEXT_BASE_DIR: path.join(dataDir, "build-contexts"),
      PORT: String(options.port ?? 0),
      HOST: options.host ?? "127.0.0.1",
      LOG_LEVEL: options.logLevel ?? "warn",
      ...(options.orchestratorId === undefined ? {} : { ORCHESTRATOR_ID: options.orchestratorId }),
      ...(options.databaseUrl === undefined ? {} : { DATABASE_URL: options.databaseUrl }),
      ...options.env,
    });
    const service = await startService(config, createLogger(config.logLevel), {
      listen,
      memoryDatabase: temporary !== undefined && config.databaseUrl === undefined,
    });
    return new EmbeddedOrchestrator(service, async () => {
      await service.stop();
      if (temporary !== undefined) await rm(temporary, { recursive: true, force: true });
    });
  } catch (error) {
    if (temporary !== undefined) await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}
