import { imageEvent } from "../../domain/event-builders.ts";
import { runnableReference } from "../../domain/names.ts";
import type { Logger } from "../../logger.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import type { ImageRecord } from "./model.ts";

/**
 * The last step of an image's deletion, once its instances are gone (either runtime): the
 * build's leftovers cleaned, then the row deleted with its `image.deleted` event.
 */
export async function deleteImageRow(
  deps: Pick<ReconcilerDependencies, "store" | "settings" | "cleanupImage">,
  image: ImageRecord,
  log: Logger,
): Promise<void> {
  await deps.cleanupImage?.(image);
  const reference = runnableReference(image, deps.settings.builtImagePrefix);
  await deps.store.transaction(async (tx) => {
    await tx.images.delete(image.id);
    await tx.events.append([imageEvent("image.deleted", image, reference, "deleted")]);
  });
  log.info("image deleted");
}
