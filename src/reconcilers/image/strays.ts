import pMap from "p-map";
import type { ContainerSnapshot } from "../../docker/runtime.ts";
import type { Logger } from "../../logger.ts";
import { appendEvents } from "../../store/events-repository.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import { strayRemovedEvent } from "./event-data.ts";
import type { ImageRecord } from "./model.ts";

/** Removes containers no instance owns (orphans, duplicates), each with its `container.removed`. */
export async function removeStrays(
  deps: ReconcilerDependencies,
  image: ImageRecord | undefined,
  strays: readonly ContainerSnapshot[],
  reason: string,
  log: Logger,
): Promise<void> {
  const { db, runtime, settings } = deps;
  const now = deps.now ?? (() => new Date());
  await pMap(
    strays,
    async (container) => {
      await runtime.remove(container.id);
      log.info(
        { containerId: container.id, name: container.name, reason },
        "stray container removed",
      );
      const event = strayRemovedEvent(image, container, reason, {
        advertiseHost: settings.advertiseHost,
        imageReference: image?.image_reference ?? "",
        now: now(),
      });
      if (event !== undefined) await appendEvents(db, [event]);
    },
    { concurrency: settings.actionConcurrency },
  );
}
