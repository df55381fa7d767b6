import { execFile, spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { connect } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";

/**
 * Stops and starts the real Docker engine and the real Postgres server the suites use, for the
 * suites that restart them (test/alone/, run after every other suite, one at a time). Each is
 * found by what it serves (the engine by its socket, Postgres by its port), stopped with the
 * signal its own tools use, and started again with the command line it was started with.
 */

export type Daemon = {
  readonly pid: number;
  readonly argv: readonly string[];
  /** Where its output went, when that was a file (it goes there again). */
  readonly logFile: string | undefined;
};

function cmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((part) => part.length > 0);
  } catch {
    return undefined;
  }
}

function processes(): Array<{ pid: number; argv: string[] }> {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      const argv = cmdline(Number(entry));
      return argv === undefined || argv.length === 0 ? [] : [{ pid: Number(entry), argv }];
    });
}

function outputFile(pid: number): string | undefined {
  try {
    const target = readlinkSync(`/proc/${pid}/fd/1`);
    return target.startsWith("/") && statSync(target).isFile() ? target : undefined;
  } catch {
    return undefined;
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The environment a daemon runs with, read before it stops: it starts again with its own, never
 * the test run's (whose TMPDIR is removed at the end of the run, and an engine that kept it
 * could no longer `exec`).
 */
function environmentOf(pid: number): Record<string, string> {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, "utf8");
    return Object.fromEntries(
      raw
        .split("\0")
        .filter((entry) => entry.includes("="))
        .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
    );
  } catch {
    return { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" };
  }
}

/** Sends `signal` and waits until the process is gone. */
async function stopProcess(daemon: Daemon, signal: NodeJS.Signals, what: string) {
  process.kill(daemon.pid, signal);
  await waitUntil(`${what} (pid ${daemon.pid}) to exit`, () => !alive(daemon.pid), 120_000);
}

/** Starts a daemon again, in its own session (it outlives the test), as `owner` when given. */
function startProcess(
  daemon: Daemon,
  environment: Record<string, string>,
  owner?: { uid: number; gid: number },
) {
  const log = openSync(daemon.logFile ?? "/dev/null", "a");
  const [command, ...args] = daemon.argv as [string, ...string[]];
  const child = spawn(command, args, {
    detached: true,
    env: environment,
    stdio: ["ignore", log, log],
    ...(owner === undefined ? {} : owner),
  });
  child.unref();
}

// --- Docker engine --------------------------------------------------------------------------

/** The unix socket a DOCKER_HOST value names (the engine's default when unset). */
export function dockerSocketPath(dockerHost = process.env.DOCKER_HOST): string {
  if (dockerHost === undefined || dockerHost === "") return "/var/run/docker.sock";
  if (dockerHost.startsWith("unix://")) return dockerHost.slice("unix://".length);
  if (dockerHost.startsWith("/")) return dockerHost;
  throw new Error(`cannot restart a Docker engine reached at ${dockerHost} (not a local socket)`);
}

/** The dockerd serving `socketPath`: its `-H`/`--host` says so, or none for the default socket. */
export function findDockerEngine(socketPath = dockerSocketPath()): Daemon {
  const hostsOf = (argv: readonly string[]) =>
    argv.flatMap((arg, index) => {
      if (arg === "-H" || arg === "--host") return [argv[index + 1] ?? ""];
      const inline = /^(?:-H|--host)=?(.+)$/.exec(arg);
      return inline?.[1] === undefined ? [] : [inline[1]];
    });
  const engines = processes().filter(({ argv }) => path.basename(argv[0] ?? "") === "dockerd");
  const serving = engines.find(({ argv }) => {
    const hosts = hostsOf(argv);
    return hosts.length === 0
      ? socketPath === "/var/run/docker.sock"
      : hosts.some((host) => host === `unix://${socketPath}` || host === socketPath);
  });
  if (serving === undefined) {
    throw new Error(
      `no dockerd process serving ${socketPath} on this machine (started by a service manager?)`,
    );
  }
  return { ...serving, logFile: outputFile(serving.pid) };
}

async function dockerAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path: socketPath }, () => {
      socket.write("GET /_ping HTTP/1.0\r\n\r\n");
    });
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.on("end", () => resolve(/^HTTP\/1\.[01] 200/.test(answer) && answer.endsWith("OK")));
    socket.on("error", () => resolve(false));
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Stops the engine like its service manager does (SIGTERM: it stops every container, then
 * exits). Returns the function that starts it again and waits until it answers.
 */
export async function stopDockerEngine(socketPath = dockerSocketPath()) {
  const engine = findDockerEngine(socketPath);
  const environment = environmentOf(engine.pid);
  await stopProcess(engine, "SIGTERM", "dockerd");
  let started = false;
  return async function startAgain(): Promise<void> {
    if (!started) startProcess(engine, environment);
    started = true;
    await waitUntil("dockerd to answer again", () => dockerAnswers(socketPath), 120_000);
  };
}

/**
 * The container root filesystems under the engine's root that the engine can no longer see
 * (moby/moby#45510): a container start the engine took while it shut down mounted the rootfs
 * after the engine had taken down the bind mount of its root folder, and the next engine's bind
 * mount hides it. Removing that container then fails for ever ("Removal In Progress": the
 * folder is busy). Such a mount hangs from another mount than the root's bind, the parent of
 * every rootfs the engine mounts itself. From /proc/self/mountinfo's text; none when the root
 * is no mount of its own (then nothing hides anything).
 */
export function hiddenRootfsMounts(mountinfo: string, dockerRoot: string): string[] {
  const mounts = mountinfo
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id, parent, , , mountPoint] = line.split(" ");
      // mountinfo writes a space, tab, newline or backslash as an octal escape.
      const unescaped = (mountPoint ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      );
      return { id, parent, mountPoint: unescaped };
    });
  const rootBind = mounts.findLast((mount) => mount.mountPoint === dockerRoot);
  if (rootBind === undefined) return [];
  const layers = `${dockerRoot}/overlay2/`;
  return mounts
    .filter(
      (mount) =>
        mount.mountPoint.startsWith(layers) &&
        mount.mountPoint.endsWith("/merged") &&
        mount.parent !== rootBind.id,
    )
    .map((mount) => mount.mountPoint);
}

/**
 * Unmounts the rootfs mounts the engine cannot see (hiddenRootfsMounts), so that it can remove
 * their containers: the engine is stopped (its bind mount of its root goes, and they can be
 * reached), they are unmounted, and it is started again. Nothing happens when none is hidden.
 * For the suites that restart the engine (a start it took while stopping leaves one).
 */
export async function releaseHiddenRootfsMounts(
  dockerRoot: string,
  socketPath = dockerSocketPath(),
): Promise<string[]> {
  const hidden = hiddenRootfsMounts(readFileSync("/proc/self/mountinfo", "utf8"), dockerRoot);
  if (hidden.length === 0) return [];
  const startAgain = await stopDockerEngine(socketPath);
  try {
    for (const mountPoint of hidden) await promisify(execFile)("umount", [mountPoint]);
  } finally {
    await startAgain();
  }
  return hidden;
}

// --- Postgres server ------------------------------------------------------------------------

/** The postmaster listening on `port`: the one whose data folder's postmaster.pid says so. */
export function findPostgresServer(port: number): Daemon & { dataDir: string } {
  for (const { pid, argv } of processes()) {
    if (!/^(postgres|postmaster)$/.test(path.basename(argv[0] ?? ""))) continue;
    const flag = argv.indexOf("-D");
    const dataDir = flag >= 0 ? argv[flag + 1] : undefined;
    if (dataDir === undefined) continue;
    try {
      const lines = readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n");
      if (Number(lines[0]) !== pid || Number(lines[3]) !== port) continue;
    } catch {
      continue;
    }
    return { pid, argv, logFile: outputFile(pid), dataDir };
  }
  throw new Error(`no Postgres server of this machine listens on port ${port}`);
}

async function postgresAnswers(url: string): Promise<boolean> {
  const client = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await client`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await client.end({ timeout: 1 }).catch(() => {});
  }
}

/**
 * Stops the server with a fast shutdown (SIGINT: sessions are ended, as by `pg_ctl stop -m
 * fast`). Returns the function that starts it again, as its owner, with its former command
 * line, and waits until it accepts connections.
 */
export async function stopPostgresServer(url: string) {
  const server = findPostgresServer(Number(new URL(url).port || 5432));
  const owner = statSync(server.dataDir);
  const environment = environmentOf(server.pid);
  await stopProcess(server, "SIGINT", "postgres");
  let started = false;
  return async function startAgain(): Promise<void> {
    if (!started) startProcess(server, environment, { uid: owner.uid, gid: owner.gid });
    started = true;
    await waitUntil("postgres to accept connections again", () => postgresAnswers(url), 120_000);
  };
}
