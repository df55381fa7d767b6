import { PassThrough } from "node:stream";
import { connectDocker } from "../../src/docker/connection.ts";
import { labelKeys } from "../../src/domain/labels.ts";
import { waitFor } from "./wait.ts";

export const docker = connectDocker(process.env.DOCKER_HOST);

/** The containers Docker really has for a controller (optionally one image), with their labels. */
export async function managedContainers(orchestratorId: string, imageId?: number) {
  const label = [`${labelKeys.managedBy}=${orchestratorId}`];
  if (imageId !== undefined) label.push(`${labelKeys.imageId}=${imageId}`);
  return docker.listContainers({ all: true, filters: { label } });
}

export async function runningContainers(orchestratorId: string, imageId?: number) {
  return (await managedContainers(orchestratorId, imageId)).filter(
    (container) => container.State === "running",
  );
}

/**
 * GET over HTTP from the host, as a user of the app would. A container the engine says is
 * running may not listen yet (docker-proxy takes the connection and resets it), so a failed
 * connection is tried again for a while, as a client's retry would; an HTTP answer is returned
 * whatever its status.
 */
export async function httpGet(
  port: number,
  path = "/index.html",
): Promise<{ status: number; body: string }> {
  return waitFor(
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        signal: AbortSignal.timeout(3_000),
      });
      return { status: response.status, body: await response.text() };
    },
    () => true,
    { what: `an answer on 127.0.0.1:${port}${path}`, timeoutMs: 20_000 },
  );
}

/**
 * Command lines of the host's processes that contain `text`: a build step's process under
 * BuildKit (which runs RUN steps itself, not as engine containers). Tests run as root on the
 * engine's host, so /proc shows them.
 */
export async function hostProcessesRunning(text: string): Promise<string[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const found: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const shown = commandLine.replaceAll("\0", " ").trim();
    if (shown.includes(text)) found.push(shown);
  }
  return found;
}

/** Runs a command in a container; its exit code and what it printed (stdout and stderr). */
export async function execIn(containerId: string, command: readonly string[]) {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const output = new PassThrough();
  output.on("data", (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, output, output);
  await new Promise<void>((resolve, reject) => {
    stream.on("end", () => resolve());
    stream.on("error", reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode, output: Buffer.concat(chunks).toString("utf8") };
}
