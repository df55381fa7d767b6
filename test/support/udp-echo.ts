import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { pack } from "tar-stream";
import type { DockerClient } from "../../src/docker/connection.ts";
import { testBaseImage } from "./test-images.ts";

const source = new URL("./udp-echo.c", import.meta.url).pathname;

/**
 * Builds `tag`: the test busybox image with `/bin/udp-echo PORT`, which answers each UDP
 * datagram with its own bytes (compiled here, static; gcc and libc6-dev come with .ci/run).
 */
export async function buildUdpEchoImage(docker: DockerClient, tag: string): Promise<void> {
  const folder = await mkdtemp(path.join(tmpdir(), "udp-echo-"));
  try {
    const binary = path.join(folder, "udp-echo");
    await promisify(execFile)("gcc", ["-static", "-O2", "-o", binary, source]);
    const context = pack();
    context.entry(
      { name: "Dockerfile" },
      `FROM ${testBaseImage}\nCOPY udp-echo /bin/udp-echo\nCMD ["/bin/udp-echo", "5353"]\n`,
    );
    context.entry({ name: "udp-echo", mode: 0o755 }, await readFile(binary));
    context.finalize();
    const stream = await docker.buildImage(context as never, { t: tag, rm: true, forcerm: true });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (error: Error | null, events: Array<{ error?: string }>) => {
          const failed = events?.find((event) => event.error !== undefined);
          if (error !== null || failed !== undefined) reject(error ?? new Error(failed?.error));
          else resolve();
        },
      ),
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
