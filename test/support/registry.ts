/**
 * Debian's docker-registry on a loopback port, with its own root and, when given users, htpasswd
 * authentication (`.ci/run` installs docker-registry and apache2-utils); and the engine-side
 * helpers the registry suites share: tag and push, remove, look up.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { docker } from "./docker-helpers.ts";
import { freePort } from "./spawn-server.ts";
import { waitFor } from "./wait.ts";

const registryBinary = "/usr/bin/docker-registry";
const htpasswdBinary = "/usr/bin/htpasswd";

/** Whether this machine can start a registry (under CI a skip fails the run). */
export const hasRegistry = existsSync(registryBinary) && existsSync(htpasswdBinary);

export function warnWithoutRegistry(suite: string): void {
  if (hasRegistry) return;
  console.warn(
    `${suite}: docker-registry or htpasswd missing (apt-get install docker-registry apache2-utils): the registry tests skip`,
  );
}

export type TestRegistry = {
  /** `127.0.0.1:PORT`: what references and credentials name. */
  readonly host: string;
  stop(): Promise<void>;
};

export async function startRegistry(auth?: {
  username: string;
  password: string;
}): Promise<TestRegistry> {
  const root = await mkdtemp(path.join(tmpdir(), "registry-"));
  const port = await freePort();
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${root}/data`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
  ];
  if (auth !== undefined) {
    const hashed = execFileSync(htpasswdBinary, ["-Bbn", auth.username, auth.password], {
      encoding: "utf8",
    });
    await writeFile(path.join(root, "htpasswd"), hashed);
    lines.push("auth:", "  htpasswd:", "    realm: test", `    path: ${root}/htpasswd`);
  }
  await writeFile(path.join(root, "config.yml"), `${lines.join("\n")}\n`);
  const child: ChildProcess = spawn(registryBinary, ["serve", path.join(root, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      try {
        return (await fetch(`http://127.0.0.1:${port}/v2/`)).status;
      } catch {
        return 0;
      }
    },
    (status) => status === 200 || status === 401,
    { what: `docker-registry on port ${port}`, timeoutMs: 30_000 },
  );
  return {
    host: `127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Follows an engine progress stream; an `error` event is a failure. */
async function followProgress(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string }>) => {
        const failed = events?.find((event) => typeof event.error === "string");
        if (error !== null) reject(error);
        else if (failed !== undefined) reject(new Error(failed.error));
        else resolve();
      },
    );
  });
}

/** Tags a local image as `target` and pushes it (with credentials when given). */
export async function pushAs(
  source: string,
  target: string,
  auth?: { username: string; password: string; server: string },
): Promise<void> {
  const colon = target.lastIndexOf(":");
  await docker.getImage(source).tag({ repo: target.slice(0, colon), tag: target.slice(colon + 1) });
  const stream = await docker.getImage(target).push(
    auth === undefined
      ? // The engine wants the header even for a registry without auth.
        { authconfig: { serveraddress: target.slice(0, target.indexOf("/")) } }
      : {
          authconfig: {
            username: auth.username,
            password: auth.password,
            serveraddress: auth.server,
          },
        },
  );
  await followProgress(stream as NodeJS.ReadableStream);
}

/** Removes one name of a local image (the image itself when it was the last). */
export const removeLocal = (reference: string) =>
  docker
    .getImage(reference)
    .remove()
    .catch(() => {});

/**
 * Removes every local name in the repository of `reference` (tags and the digest references a
 * push or pull left: `host:port/name@sha256:…`), so a test leaves no name behind on the engine.
 */
export async function forgetRepository(reference: string): Promise<void> {
  const repository = reference.replace(/[:@][^/]*$/, "");
  const names = (await docker.listImages()).flatMap((image) => [
    ...(image.RepoTags ?? []),
    ...(image.RepoDigests ?? []),
  ]);
  const ours = names.filter(
    (name) => name.startsWith(`${repository}:`) || name.startsWith(`${repository}@`),
  );
  for (const name of ours) await removeLocal(name);
}

export const isLocal = (reference: string) =>
  docker
    .getImage(reference)
    .inspect()
    .then(
      () => true,
      () => false,
    );

export const imageIdOf = async (reference: string) =>
  (await docker.getImage(reference).inspect()).Id;
