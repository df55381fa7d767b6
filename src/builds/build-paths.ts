import { mkdir, readdir, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "../logger.ts";

/** The contract's default; used when it can be written, else `{DATA_DIR}/build-contexts`. */
export const defaultContextBase = "/var/lib/orchestrator/build-contexts";

/** Staged uploads older than this at start are leftovers of a crash. */
const staleStagingMs = 60 * 60 * 1000;

export type BuildPaths = {
  /** `{BUILD_CONTEXT_BASE_DIR}`: sources are kept at `{base}/{user_id}/{image_id}/context`. */
  readonly contextBase: string;
  /** Where uploads land while they are received and checked (same filesystem: renames). */
  readonly incoming: string;
  /** Full build logs, `{DATA_DIR}/build-logs/{image_id}/{generation}.log`. */
  readonly logs: string;
};

/** The folder kept for one image: its source (`context`) and nothing else. */
export function imageFolder(paths: BuildPaths, userId: number, imageId: number): string {
  return join(paths.contextBase, String(userId), String(imageId));
}

export function contextDir(paths: BuildPaths, userId: number, imageId: number): string {
  return join(imageFolder(paths, userId, imageId), "context");
}

async function writable(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.write-probe-${process.pid}`);
    await writeFile(probe, "");
    await unlink(probe);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Decides where sources and logs live, once at start. An explicit BUILD_CONTEXT_BASE_DIR must
 * be writable; the default falls back under DATA_DIR when it is not (not root, read-only).
 * Uploads staged by a process that died are removed.
 */
export async function resolveBuildPaths(
  config: { readonly buildContextBaseDir: string | undefined; readonly dataDir: string },
  logger: Logger,
  defaultBase: string = defaultContextBase,
): Promise<BuildPaths> {
  let contextBase: string;
  if (config.buildContextBaseDir !== undefined) {
    contextBase = resolve(config.buildContextBaseDir);
    const problem = await writable(contextBase);
    if (problem !== undefined) {
      throw new Error(`BUILD_CONTEXT_BASE_DIR=${contextBase} is not writable: ${problem}`);
    }
  } else {
    contextBase = defaultBase;
    const problem = await writable(contextBase);
    if (problem !== undefined) {
      contextBase = join(config.dataDir, "build-contexts");
      logger.info(
        { wanted: defaultBase, using: contextBase, problem },
        "default build context folder not writable; using one under DATA_DIR",
      );
      const fallbackProblem = await writable(contextBase);
      if (fallbackProblem !== undefined) {
        throw new Error(`${contextBase} (under DATA_DIR) is not writable: ${fallbackProblem}`);
      }
    }
  }
  const paths: BuildPaths = {
    contextBase,
    incoming: join(contextBase, ".incoming"),
    logs: join(config.dataDir, "build-logs"),
  };
  await mkdir(paths.incoming, { recursive: true });
  await mkdir(paths.logs, { recursive: true });
  await removeStaleStaging(paths.incoming);
  return paths;
}

async function removeStaleStaging(incoming: string): Promise<void> {
  const now = Date.now();
  for (const entry of await readdir(incoming)) {
    const path = join(incoming, entry);
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && now - info.mtimeMs > staleStagingMs) {
      await rm(path, { recursive: true, force: true });
    }
  }
}
