import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createScratchDatabase } from "./databases.ts";
import type { Backend } from "./services.ts";
import { type ApiCall, apiCaller, type SpawnedServer, spawnServer } from "./spawn-server.ts";

export type KillableService = {
  /** The environment it runs with (a restart reuses it: same data folder, same database). */
  readonly env: Readonly<Record<string, string>>;
  /** The API with the admin token, at whichever process runs now. */
  readonly call: ApiCall;
  /** kill -9, and wait until the process is gone. */
  kill9(): Promise<void>;
  /** A new process on the same data folder and database. */
  restart(): Promise<void>;
};

/**
 * The service as its own process (`node src/main.ts`) on a fresh data folder, and a scratch
 * database on the Postgres backend, for tests that kill it -9 and start it again. Everything it
 * made is undone by the cleanups it pushes (the process first).
 */
export async function startKillableService(options: {
  readonly backend: Backend;
  readonly orchestratorId: string;
  readonly cleanups: Array<() => Promise<void>>;
  readonly env?: Readonly<Record<string, string>>;
}): Promise<KillableService> {
  const { cleanups } = options;
  const dataDir = await mkdtemp(path.join(tmpdir(), "orch-killable-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    ORCHESTRATOR_ID: options.orchestratorId,
    LOG_LEVEL: "warn",
    STOP_TIMEOUT_SECONDS: "1",
    ...options.env,
  };
  if (options.backend === "postgres") {
    const database = await createScratchDatabase();
    cleanups.push(database.drop);
    env.DATABASE_URL = database.url;
  }
  let server: SpawnedServer = await spawnServer(env);
  cleanups.push(async () => {
    server.kill("SIGKILL");
    await server.exited;
  });
  const token = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
  return {
    env,
    call: apiCaller(() => server.url, token),
    kill9: async () => {
      server.kill("SIGKILL");
      await server.exited;
    },
    restart: async () => {
      server = await spawnServer(env);
    },
  };
}
