import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

export type SpawnedServer = {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
};

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Runs a command of the project (e.g. `src/main.ts`) as its own process, like a user would:
 * with the node flags of `npm start` (--liftoff-only and --max-semi-space-size, see
 * docs/architecture.md).
 */
export function runProject(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Omit<SpawnedServer, "url" | "port"> {
  const child = spawn(
    process.execPath,
    ["--max-semi-space-size=4", "--liftoff-only", "--disable-warning=ExperimentalWarning", ...args],
    {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        // The run's own temporary folder (see global-setup.ts): what the process leaves is seen.
        ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
        // Node's compile cache (src/main.ts, bin/) would live in that folder past the run: a
        // cache, not something a test made; a test's process goes without it.
        NODE_DISABLE_COMPILE_CACHE: "1",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => ({ stdout, stderr }),
    exited,
    kill: (signal = "SIGTERM") => child.kill(signal),
  };
}

/** Starts `node src/main.ts` with the given environment and waits for /healthz. */
export async function spawnServer(
  env: Readonly<Record<string, string>>,
  options: { timeoutMs?: number } = {},
): Promise<SpawnedServer> {
  const port = env.PORT === undefined ? await freePort() : Number(env.PORT);
  const running = runProject(["src/main.ts"], {
    HOST: "127.0.0.1",
    ALLOWED_LOCAL_IMAGES: "orchestrator-test/*",
    ...env,
    PORT: String(port),
  });
  const url = `http://127.0.0.1:${port}`;
  // Generous: a test waits for the server, it does not time it (a 2-core machine under load
  // can take many seconds to open a fresh embedded database).
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let exitedEarly = false;
  void running.exited.then(() => {
    exitedEarly = true;
  });
  while (Date.now() < deadline) {
    if (exitedEarly) {
      throw new Error(
        `server exited during start:\n${running.output().stderr}\n${running.output().stdout}`,
      );
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return { ...running, url, port };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  running.kill("SIGKILL");
  throw new Error(`server did not answer /healthz in time:\n${running.output().stderr}`);
}

export type ApiCall = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: any }>;

/**
 * Calls the API of a server process with a token; `baseUrl` is read at each call, because a
 * restarted process listens on a new port.
 */
export function apiCaller(baseUrl: () => string, token: string): ApiCall {
  return async (method, urlPath, body) => {
    const response = await fetch(`${baseUrl()}${urlPath}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
}
