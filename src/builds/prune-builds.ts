import type { ImageBuilder } from "../docker/build.ts";
import type { Logger } from "../logger.ts";

/**
 * Earlier builds of an image, once nothing runs them any more and no kept revision names them
 * (a rollback runs them again). After a build succeeds the
 * image is marked; each later look at the ready image (the controller resolving it, as it does
 * while the instances roll over) tries to remove the earlier builds, until none is left. An
 * image still used by a container is never removed. In memory: a restart forgets the marks,
 * and what is left goes with the image, or after its next build.
 */
export function createBuildPruner(deps: {
  readonly builder: ImageBuilder;
  readonly orchestratorId: string;
  readonly logger: Logger;
  /** The images the image's kept revisions run (store.revisions.keptImageIds). */
  readonly keptImages: (imageId: number) => Promise<readonly string[]>;
}) {
  /** Marked images, each with a count of marks, so a sweep never unmarks a later build's mark. */
  const marked = new Map<number, number>();
  const sweeping = new Set<number>();
  /** Sweeps asked for while one ran (with the image to keep then): run again after it. */
  const again = new Map<number, string>();

  function start(imageId: number, keep: string): void {
    sweeping.add(imageId);
    const markedAt = marked.get(imageId);
    deps
      .keptImages(imageId)
      .then((kept) =>
        deps.builder.removeBuilt(deps.orchestratorId, imageId, {
          keep: [keep, ...kept],
          force: false,
        }),
      )
      .then(
        ({ removed, inUse }) => {
          if (removed > 0) deps.logger.info({ imageId, removed }, "earlier builds removed");
          if (inUse === 0 && marked.get(imageId) === markedAt) marked.delete(imageId);
        },
        (error: unknown) =>
          deps.logger.warn({ imageId, err: error }, "could not remove earlier builds"),
      )
      .finally(() => {
        sweeping.delete(imageId);
        const next = again.get(imageId);
        again.delete(imageId);
        if (next !== undefined && marked.has(imageId)) start(imageId, next);
      });
  }

  return {
    mark(imageId: number): void {
      marked.set(imageId, (marked.get(imageId) ?? 0) + 1);
    },
    forget(imageId: number): void {
      marked.delete(imageId);
      again.delete(imageId);
    },
    /**
     * Starts a sweep in the background (never waited for) when the image is marked; asked for
     * while one runs, another runs after it (a newer build may keep another image).
     */
    sweep(imageId: number, keep: string): void {
      if (!marked.has(imageId)) return;
      if (sweeping.has(imageId)) {
        again.set(imageId, keep);
        return;
      }
      start(imageId, keep);
    },
  };
}

export type BuildPruner = ReturnType<typeof createBuildPruner>;
