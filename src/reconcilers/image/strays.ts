import pMap from "p-map";
import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { strayRemovedEvent } from "../../domain/event-builders.ts";
import { runnableReference } from "../../domain/names.ts";
import type { Logger } from "../../logger.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import type { ImageRecord } from "./model.ts";

/** Removes containers no instance owns (orphans, duplicates), each with its `container.removed`. */
export async function removeStrays(
  deps: ReconcilerDependencies,
  image: ImageRecord | undefined,
  strays: readonly ContainerSnapshot[],
  reason: string,
  log: Logger,
): Promise<void> {
  const { store, runtime, settings } = deps;
  const now = deps.now ?? (() => new Date());
  await pMap(
    strays,
    async (container) => {
      await runtime.remove(container.id);
      log.info(
        { containerId: container.id, name: container.name, reason },
        "stray container removed",
      );
      // Every field of an event comes from rows, never from labels: without the image's row
      // there is nothing trustworthy to say (its deletion was evented when it happened).
      if (image === undefined) return;
      await store.transaction((tx) =>
        tx.events.append([
          strayRemovedEvent(image, container, reason, {
            advertiseHost: settings.advertiseHost,
            reference: runnableReference(image, settings.builtImagePrefix),
            now: now(),
          }),
        ]),
      );
    },
    { concurrency: settings.actionConcurrency },
  );
}
