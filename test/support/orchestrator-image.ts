import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { runMarker } from "./run-id.ts";

const run = promisify(execFile);
const repositoryRoot = path.resolve(import.meta.dirname, "../..");

/**
 * Debian's docker CLI (20.10) builds with BuildKit without the buildx plugin; a newer client
 * elsewhere on PATH may insist on buildx.
 */
export const dockerCli = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";

/**
 * The base the test builds FROM: BASE when set (e.g. node:24-slim where a registry answers),
 * otherwise the one deploy/local-base.sh makes from this machine's Node (kept, like the busybox
 * base of the test apps: it is made once per machine and changes only with Node).
 */
export const orchestratorBase =
  process.env.ORCHESTRATOR_TEST_BASE ?? "orchestrator-test/node-base:24";

/**
 * Builds the repository's Dockerfile with BuildKit and tags it for this run (the tag carries the
 * run's marker, so a forgotten image is reported). BuildKit keeps its layer cache when the tag is
 * removed, so a second build, in this run or the next, takes seconds.
 */
export async function buildOrchestratorImage(name: string): Promise<string> {
  if (process.env.ORCHESTRATOR_TEST_BASE === undefined) {
    await run(path.join(repositoryRoot, "deploy/local-base.sh"), [orchestratorBase], {
      cwd: repositoryRoot,
    });
  }
  const tag = `orchestrator${runMarker()}${name}:test`;
  await run(dockerCli, ["build", "-q", "--build-arg", `BASE=${orchestratorBase}`, "-t", tag, "."], {
    cwd: repositoryRoot,
    env: { ...process.env, DOCKER_BUILDKIT: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  return tag;
}

/** The group that owns the engine's socket: the container's user needs it to drive the engine. */
export async function dockerSocketGroup(socket = "/var/run/docker.sock"): Promise<string> {
  const { stat } = await import("node:fs/promises");
  return String((await stat(socket)).gid);
}
