import { withOptionDefaults } from "../domain/container-options.ts";
import { type EventContext, poolEvent } from "../domain/event-builders.ts";
import type { ImageRecord, InstanceRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";

/**
 * Ends the claim held on `instance` in the caller's transaction: the instance goes to be
 * recycled (its pool's `recycle`), the event is appended and the controller told. Released by
 * the API (`pool.released`) or expired by the controller (`pool.expired`, which loses to a
 * renewal made meanwhile). Returns the row after, or undefined when there was nothing to end.
 */
export async function endClaim(
  tx: Repositories,
  image: ImageRecord,
  instance: InstanceRecord,
  ending: { readonly type: "pool.released" | "pool.expired"; readonly reason: string },
  context: EventContext,
): Promise<InstanceRecord | undefined> {
  if (instance.claim_id === null || instance.claim_key === null) return undefined;
  const pool = withOptionDefaults(image.container_options).pool;
  const released = await tx.claims.release(instance.claim_id, pool?.recycle ?? "restart", {
    onlyIfExpired: ending.type === "pool.expired",
  });
  if (released === undefined) return undefined;
  await tx.images.notifyChanged(image.id);
  await tx.events.append([
    poolEvent(
      ending.type,
      image,
      { ...instance, claim_id: instance.claim_id, claim_key: instance.claim_key },
      ending.reason,
      context,
    ),
  ]);
  return released;
}
