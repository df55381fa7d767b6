import type { EventContext } from "../../domain/event-builders.ts";
import type { Logger } from "../../logger.ts";
import { endClaim } from "../../pools/end-claim.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";

/**
 * Claims past their `claim_expires_at` are released by the controller (`pool.expired`, each in
 * its own transaction; a renewal that commits first wins), also when the image's pool was
 * removed since. Returns how long until the next live claim expires, so the pass can be queued
 * again then.
 */
export async function expireClaims(
  deps: Pick<ReconcilerDependencies, "store">,
  image: ImageRecord,
  records: readonly InstanceRecord[],
  context: EventContext & { readonly now: Date },
  log: Logger,
): Promise<{ readonly expired: number; readonly nextInMs: number | undefined }> {
  const due = records.filter(
    (record) =>
      record.claim_expires_at !== null &&
      record.claim_expires_at.getTime() <= context.now.getTime(),
  );
  let expired = 0;
  for (const record of due) {
    const ended = await deps.store.transaction(async (tx) => {
      if (record.claim_id === null) return undefined;
      const locked = await tx.claims.lockById(record.claim_id);
      if (locked === undefined) return undefined;
      return endClaim(tx, image, locked, { type: "pool.expired", reason: "expired" }, context);
    });
    if (ended !== undefined) {
      expired += 1;
      log.info({ instanceId: record.id, key: record.claim_key }, "claim expired");
    }
  }
  const upcoming = records
    .filter((record) => !due.includes(record) && record.claim_expires_at !== null)
    .map((record) => (record.claim_expires_at as Date).getTime() - context.now.getTime());
  return {
    expired,
    nextInMs: upcoming.length === 0 ? undefined : Math.max(0, Math.min(...upcoming)),
  };
}
