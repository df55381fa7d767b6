import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { pack } from "tar-stream";
import type { DockerClient } from "../../src/docker/connection.ts";
import { buildTestImage, testBaseImage } from "./test-images.ts";

export { testBaseImage };

const applets = ["/bin", "/usr/bin"].map((dir) => path.join(dir, "busybox"));

/** Whether an ELF file is statically linked (no PT_INTERP program header): runs in any rootfs. */
function isStaticElf(file: string): boolean {
  try {
    const elf = readFileSync(file);
    if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // 64-bit ELF only
    const phoff = Number(elf.readBigUInt64LE(0x20));
    const phentsize = elf.readUInt16LE(0x36);
    const phnum = elf.readUInt16LE(0x38);
    for (let index = 0; index < phnum; index++) {
      if (elf.readUInt32LE(phoff + index * phentsize) === 3) return false; // PT_INTERP
    }
    return true;
  } catch {
    return false;
  }
}

/** A rootfs of the host's static busybox, imported as the base image. */
async function importHostBusybox(docker: DockerClient, busyboxPath: string): Promise<void> {
  const names = execFileSync(busyboxPath, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter((applet) => applet.length > 0 && applet !== "busybox");
  const archive = pack();
  for (const dir of ["bin", "tmp", "www", "etc"]) {
    archive.entry({ name: `${dir}/`, type: "directory", mode: dir === "tmp" ? 0o1777 : 0o755 });
  }
  archive.entry({ name: "bin/busybox", mode: 0o755 }, readFileSync(busyboxPath));
  for (const applet of names) {
    archive.entry({ name: `bin/${applet}`, type: "symlink", linkname: "busybox" });
  }
  archive.entry({ name: "etc/passwd" }, "root:x:0:0:root:/:/bin/sh\n");
  archive.entry({ name: "etc/group" }, "root:x:0:\n");
  archive.entry({ name: "www/index.html" }, "ok\n");
  archive.finalize();
  const [repo, tag] = testBaseImage.split(":") as [string, string];
  const importImage = docker.importImage.bind(docker) as unknown as (
    source: unknown,
    options: Record<string, unknown>,
  ) => Promise<NodeJS.ReadableStream>;
  await followProgress(
    docker,
    await importImage(archive, { repo, tag, changes: ['CMD ["/bin/sh"]'] }),
  );
}

async function followProgress(docker: DockerClient, stream: NodeJS.ReadableStream): Promise<void> {
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
}

/** `busybox:latest` from the engine, pulled when a registry is reachable. */
async function localOrPulledBusybox(docker: DockerClient): Promise<string | undefined> {
  const reference = "busybox:latest";
  try {
    await docker.getImage(reference).inspect();
    return reference;
  } catch {
    // not there: try a pull
  }
  try {
    await followProgress(docker, await docker.pull(reference));
    return reference;
  } catch {
    return undefined;
  }
}

/**
 * Makes the base image from what this machine offers, first found wins: the image itself, the
 * host's static busybox (Debian's busybox-static), or a busybox image (local, or pulled where a
 * registry answers). Throws with how to get one when there is none.
 */
export async function ensureBaseImage(docker: DockerClient): Promise<void> {
  try {
    await docker.getImage(testBaseImage).inspect();
    return;
  } catch {
    // not there yet: make it below
  }
  const hostBusybox = applets.find(isStaticElf);
  if (hostBusybox !== undefined) {
    await importHostBusybox(docker, hostBusybox);
    return;
  }
  const busybox = await localOrPulledBusybox(docker);
  if (busybox === undefined) {
    throw new Error(
      "no busybox to make them from: `docker pull busybox` (or `apt-get install busybox-static`), then run again",
    );
  }
  await buildTestImage(
    docker,
    testBaseImage,
    `FROM ${busybox}\nRUN mkdir -p /www && echo ok > /www/index.html\nCMD ["/bin/sh"]\n`,
  );
}
