import { rm } from "node:fs/promises";
import { dirname, sep } from "node:path";
import type { ImageBuilder } from "../docker/build.ts";
import type { Logger } from "../logger.ts";
import type { ImageCleanup } from "../reconcilers/image/ports.ts";
import type { BuildLogFiles } from "./build-log-files.ts";
import { type BuildPaths, imageFolder } from "./build-paths.ts";
import type { BuildQueue } from "./build-queue.ts";
import type { BuildPruner } from "./prune-builds.ts";

export type BuildCleanupDependencies = {
  readonly queue: BuildQueue;
  readonly pruner: BuildPruner;
  readonly builder: ImageBuilder;
  readonly logs: BuildLogFiles;
  readonly paths: BuildPaths;
  readonly orchestratorId: string;
  readonly logger: Logger;
};

/**
 * Called by the controller once a deleted image has no containers left: stops its build, then
 * removes the images built for it, its kept source and its build logs. Safe to call again.
 */
export function createBuildCleanup(deps: BuildCleanupDependencies): ImageCleanup {
  return async (image) => {
    await deps.queue.cancel(image.id);
    deps.pruner.forget(image.id);
    const { removed: removedImages } = await deps.builder.removeBuilt(
      deps.orchestratorId,
      image.id,
      { force: true },
    );
    const folder = imageFolder(deps.paths, image.user_id, image.id);
    await rm(folder, { recursive: true, force: true });
    // A source kept under another base (BUILD_CONTEXT_BASE_DIR changed since): only its own folder.
    const kept = image.source_path;
    const ownSuffix = `${sep}${image.user_id}${sep}${image.id}${sep}context`;
    if (kept?.endsWith(ownSuffix) && dirname(kept) !== folder) {
      await rm(dirname(kept), { recursive: true, force: true });
    }
    await deps.logs.removeAll(image.id);
    deps.logger.info({ imageId: image.id, removedImages }, "build artefacts removed");
  };
}
