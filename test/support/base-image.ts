import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pack } from "tar-stream";
import type { DockerClient } from "../../src/docker/connection.ts";

/** A busybox image made from Debian's busybox-static: the FROM of every test app (no registry here). */
export const testBaseImage = "orchestrator-test/busybox:latest";

const busyboxPath = "/bin/busybox";

export async function ensureBaseImage(docker: DockerClient): Promise<void> {
  try {
    await docker.getImage(testBaseImage).inspect();
    return;
  } catch {
    // not there yet: import it below
  }
  const applets = execFileSync(busyboxPath, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter((applet) => applet.length > 0 && applet !== "busybox");
  const archive = pack();
  for (const dir of ["bin", "tmp", "www", "etc"]) {
    archive.entry({ name: `${dir}/`, type: "directory", mode: dir === "tmp" ? 0o1777 : 0o755 });
  }
  archive.entry({ name: "bin/busybox", mode: 0o755 }, readFileSync(busyboxPath));
  for (const applet of applets) {
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
  const stream = await importImage(archive, { repo, tag, changes: ['CMD ["/bin/sh"]'] });
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
