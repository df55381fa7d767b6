import { PassThrough, type Readable } from "node:stream";
import type { DockerClient } from "./connection.ts";
import { dockerStatus } from "./retry.ts";

/** Splits Docker's multiplexed log format (8-byte frame headers) into plain text. */
export function demuxLogs(buffer: Buffer): string {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    if ((stream !== 0 && stream !== 1 && stream !== 2) || buffer[offset + 1] !== 0) {
      return buffer.toString("utf8"); // not multiplexed (a TTY container)
    }
    chunks.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The engine's `since` (Unix seconds), when there is one. */
function sinceOption(since: Date | undefined): { since?: number } {
  return since === undefined ? {} : { since: Math.floor(since.getTime() / 1000) };
}

/** What containers wrote (stdout and stderr), as plain text. */
export function createContainerLogs(docker: DockerClient) {
  return {
    /** The last lines a container wrote (since `since`), or "" when it is gone. */
    async tail(containerId: string, lines: number, since?: Date): Promise<string> {
      try {
        const buffer = (await docker.getContainer(containerId).logs({
          stdout: true,
          stderr: true,
          tail: lines,
          follow: false,
          ...sinceOption(since),
        })) as unknown as Buffer;
        return demuxLogs(Buffer.isBuffer(buffer) ? buffer : Buffer.from(String(buffer)));
      } catch (error) {
        if (dockerStatus(error).status === 404) return "";
        throw error;
      }
    },

    /** Follows a container's logs until the signal aborts or the container ends. */
    async follow(
      containerId: string,
      options: { readonly tail: number; readonly since?: Date; readonly signal: AbortSignal },
    ): Promise<Readable> {
      const raw = (await docker.getContainer(containerId).logs({
        stdout: true,
        stderr: true,
        tail: options.tail,
        follow: true,
        ...sinceOption(options.since),
      })) as unknown as Readable;
      const out = new PassThrough();
      docker.modem.demuxStream(raw, out, out);
      raw.on("end", () => out.end());
      raw.on("error", (error: Error) => out.destroy(error));
      options.signal.addEventListener("abort", () => {
        raw.destroy();
        out.end();
      });
      return out;
    },
  };
}

export type ContainerLogs = ReturnType<typeof createContainerLogs>;
