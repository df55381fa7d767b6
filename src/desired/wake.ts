import { scaleToZeroAfterMs } from "../domain/autoscale-spec.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import type { Store } from "../store/database.ts";
import { DesiredStateError } from "./errors.ts";
import {
  commitImageChange,
  lockVisibleImage,
  refuseWhenDeleting,
  type Scope,
  type WriteSettings,
} from "./image-writes.ts";

export type WakeResult = {
  readonly image_id: number;
  readonly desired_instances: number;
  /** Whether this call moved the image from 0 to 1 (false: it already wanted instances). */
  readonly woken: boolean;
};

/**
 * `POST /api/images/{id}/wake`: an image the autoscaler moved to zero (`scale_to_zero_after`)
 * wants one instance again, the autoscaler's own write (its `image.scaled` event, reason
 * `wake`), so the 409 that guards the autoscaler's count does not apply. Only such an image, and
 * only from 0: a count of 0 the user chose (no scale_to_zero_after) is refused, and an image
 * already wanting instances is left as it is. Idempotent: the router calls it for each request
 * it holds.
 */
export async function wakeImage(
  store: Store,
  settings: WriteSettings,
  scope: Scope,
  imageId: number,
): Promise<WakeResult> {
  return store.transaction(async (tx) => {
    const image = await lockVisibleImage(tx, scope, imageId);
    refuseWhenDeleting(image);
    const autoscale = withOptionDefaults(image.container_options).autoscale;
    if (autoscale === null || scaleToZeroAfterMs(autoscale) === undefined) {
      throw new DesiredStateError(
        "conflict",
        `image ${image.name} (${image.id}) does not scale to zero (autoscale.scale_to_zero_after is not set): nothing wakes it`,
      );
    }
    if (image.desired_instances > 0) {
      return { image_id: image.id, desired_instances: image.desired_instances, woken: false };
    }
    const written = await commitImageChange(
      tx,
      image,
      {
        columns: { desired_instances: 1 },
        bumpGeneration: true,
        reason: "wake",
        action: "autoscale.wake",
        actor: scope.actor,
        autoscaler: { metric: autoscale.metric, value: null, target: autoscale.target },
      },
      settings,
    );
    return { image_id: written.id, desired_instances: written.desired_instances, woken: true };
  });
}
