import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { DockerClient } from "../../src/docker/connection.ts";
import { buildTestImage, testBaseImage } from "./test-images.ts";

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
    await buildTestImage(
      docker,
      tag,
      `FROM ${testBaseImage}\nCOPY udp-echo /bin/udp-echo\nCMD ["/bin/udp-echo", "5353"]\n`,
      { "udp-echo": await readFile(binary) },
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
