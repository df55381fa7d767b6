import { pack } from "tar-stream";
import type { DockerClient } from "./connection.ts";
import { withDockerRetry } from "./retry.ts";

/** A file the controller writes into a container before it starts (a secret mounted as a file). */
export type ContainerFile = {
  /** Absolute path in the container; missing folders are made (root, 0755) by the engine. */
  readonly path: string;
  readonly content: string;
  /** Permission bits; owned by root. */
  readonly mode: number;
};

/** The files as one tar archive, rooted at `/`. */
export async function packFiles(files: readonly ContainerFile[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on("data", (chunk) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    archive.on("end", () => resolve());
    archive.on("error", reject);
  });
  for (const file of files) {
    archive.entry(
      {
        name: file.path.replace(/^\/+/, ""),
        mode: file.mode,
        uid: 0,
        gid: 0,
        mtime: new Date(0),
        type: "file",
      },
      Buffer.from(file.content, "utf8"),
    );
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * Writes files into a container's filesystem (Docker's "copy to container"). Done on a created
 * container, before its start, so the process never runs without them.
 */
export async function writeContainerFiles(
  docker: DockerClient,
  containerId: string,
  files: readonly ContainerFile[],
): Promise<void> {
  if (files.length === 0) return;
  const archive = await packFiles(files);
  await withDockerRetry(() => docker.getContainer(containerId).putArchive(archive, { path: "/" }));
}
