import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DesiredStateError } from "../desired/errors.ts";
import {
  commitImageChange,
  findVisibleImage,
  lockVisibleImage,
  type Scope,
  type WriteSettings,
} from "../desired/image-writes.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import { type EventContext, poolEvent } from "../domain/event-builders.ts";
import { containerName, newInstanceId, runnableReference } from "../domain/names.ts";
import { claimTtlMs, isServing, type Pool } from "../domain/pool.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord, InstanceRecord } from "../store/records.ts";
import type { Repositories } from "../store/repositories.ts";
import { endClaim } from "./end-claim.ts";

export type ClaimsServiceOptions = WriteSettings & {
  /** Names new instances' containers (`{ORCHESTRATOR_ID}-{image}-{instance}`). */
  readonly orchestratorId: string;
  /** Host address clients reach published ports on (ADVERTISE_HOST). */
  readonly advertiseHost: string;
  /** How often a waiting claim looks again (a hint only: correctness never depends on it). */
  readonly pollIntervalMs?: number;
  readonly now?: () => Date;
};

/** A claim as the API answers it: the instance row while it holds the claim, with its image. */
export type HeldClaim = { readonly instance: InstanceRecord; readonly image: ImageRecord };

type Attempt =
  | { readonly kind: "held"; readonly instance: InstanceRecord }
  | { readonly kind: "full" };

function poolOf(image: ImageRecord): Pool {
  const pool = withOptionDefaults(image.container_options).pool;
  if (pool === null) {
    throw new DesiredStateError("conflict", `image ${image.id} has no pool: set spec.pool first`, {
      errors: [{ path: "pool", message: "the image has no pool" }],
    });
  }
  return pool;
}

/**
 * Claims of pooled instances. A claim is taken in one transaction: the key's lock, its live
 * claim if it has one (the same instance again), else an idle instance (FOR UPDATE SKIP LOCKED),
 * else a new instance born claimed while the pool is below `max`; the `pool.claimed` event and
 * the controller's NOTIFY commit with it. Nothing here talks to Docker: the controller creates
 * containers, recycles released ones and expires claims.
 */
export function createClaimsService(store: Store, options: ClaimsServiceOptions) {
  const now = options.now ?? (() => new Date());
  const pollMs = options.pollIntervalMs ?? 100;

  function eventContext(image: ImageRecord): EventContext {
    return {
      advertiseHost: options.advertiseHost,
      reference: runnableReference(image, options.builtImagePrefix),
    };
  }

  /** Ends the claim held on `instance` (already locked), in `tx`. */
  function endClaimOf(
    tx: Repositories,
    image: ImageRecord,
    instance: InstanceRecord,
    type: "pool.released" | "pool.expired",
    reason: string,
  ): Promise<InstanceRecord | undefined> {
    return endClaim(tx, image, instance, { type, reason }, eventContext(image));
  }

  async function attempt(image: ImageRecord, pool: Pool, key: string): Promise<Attempt> {
    return store.transaction(async (tx) => {
      await tx.claims.lockKey(image.id, key);
      const held = await tx.claims.findByKey(image.id, key);
      if (held !== undefined) {
        const expired = held.claim_expires_at !== null && held.claim_expires_at <= now();
        if (!expired) return { kind: "held", instance: held };
        await endClaimOf(tx, image, held, "pool.expired", "expired");
      }
      const claimedAt = now();
      const claim = {
        claimId: randomUUID(),
        key,
        claimedAt,
        expiresAt: new Date(claimedAt.getTime() + claimTtlMs(pool)),
      };
      let taken = await tx.claims.takeIdle(image.id, image.health_check !== null, claim);
      let reason = "claimed";
      if (taken === undefined) {
        if ((await tx.claims.countLive(image.id)) >= pool.max) return { kind: "full" };
        const id = newInstanceId();
        taken = await tx.claims.insertClaimed(
          {
            id,
            image_id: image.id,
            user_id: image.user_id,
            container_name: containerName(options.orchestratorId, image.name, id),
          },
          claim,
        );
        reason = "created";
      }
      await tx.images.notifyChanged(image.id);
      await tx.events.append([
        poolEvent(
          "pool.claimed",
          image,
          { ...taken, claim_id: claim.claimId, claim_key: key },
          reason,
          eventContext(image),
        ),
      ]);
      return { kind: "held", instance: taken };
    });
  }

  /** A claim the caller may see (another tenant's is not found), optionally locked. */
  async function visibleClaim(
    repositories: Pick<Repositories, "claims" | "images">,
    scope: Scope,
    claimId: string,
    options: { readonly lock: boolean },
  ): Promise<HeldClaim> {
    const instance = options.lock
      ? await repositories.claims.lockById(claimId)
      : await repositories.claims.findById(claimId);
    if (instance === undefined || (scope.userId !== undefined && instance.user_id !== scope.userId))
      throw new DesiredStateError("not_found", `claim ${claimId} not found`);
    const image = await findVisibleImage(repositories.images, scope, instance.image_id);
    return { instance, image };
  }

  /** Releases a claim by id: its instance is recycled before it is handed out again. */
  function release(scope: Scope, claimId: string): Promise<HeldClaim> {
    return store.transaction(async (tx) => {
      const { instance, image } = await visibleClaim(tx, scope, claimId, { lock: true });
      await endClaimOf(tx, image, instance, "pool.released", "released");
      return { instance, image };
    });
  }

  return {
    /**
     * Claims an instance of a pooled image for `key`, waiting up to `waitMs` for one to serve
     * (running, with its port; healthy when the image has a health check). The same key gets
     * the same instance while its claim lives. Past the wait: PoolExhaustedError (503), and a
     * claim already taken stays the key's, so a retry gets that instance.
     */
    async claim(scope: Scope, imageId: number, key: string, waitMs: number): Promise<HeldClaim> {
      const deadline = now().getTime() + waitMs;
      for (;;) {
        const image = await findVisibleImage(store.images, scope, imageId);
        const pool = poolOf(image);
        if (image.status === "deleting")
          throw new DesiredStateError("conflict", `image ${image.id} is being deleted`);
        const outcome = await attempt(image, pool, key);
        if (outcome.kind === "held") {
          const instance = await store.instances.find(outcome.instance.id);
          if (
            instance !== undefined &&
            instance.claim_id === outcome.instance.claim_id &&
            isServing(instance, image.health_check !== null)
          ) {
            return { instance, image };
          }
        }
        const left = deadline - now().getTime();
        if (left <= 0) {
          throw new DesiredStateError(
            "pool_exhausted",
            outcome.kind === "full"
              ? `image ${image.id}: all ${pool.max} instances of the pool are claimed or recycling; retry in a few seconds`
              : `image ${image.id}: the instance claimed for ${key} is not serving yet; retry in a few seconds (the same key gets it)`,
            { extensions: { retry_after: outcome.kind === "full" ? 5 : 2 } },
          );
        }
        await sleep(Math.min(pollMs, left));
      }
    },

    /** The claims on one image the caller may see (another tenant's image is a 404). */
    async listOfImage(scope: Scope, imageId: number, key?: string): Promise<HeldClaim[]> {
      const image = await findVisibleImage(store.images, scope, imageId);
      const claims = await store.claims.list({ imageId: image.id, key });
      return claims.map((instance) => ({ instance, image }));
    },

    async list(
      scope: Scope,
      filter: { readonly imageId?: number | undefined; readonly key?: string | undefined },
    ): Promise<HeldClaim[]> {
      const [claims, images] = await Promise.all([
        store.claims.list({ userId: scope.userId, imageId: filter.imageId, key: filter.key }),
        store.images.list(scope.userId),
      ]);
      const byId = new Map(images.map((image) => [image.id, image]));
      return claims.flatMap((instance) => {
        const image = byId.get(instance.image_id);
        return image === undefined ? [] : [{ instance, image }];
      });
    },

    async get(scope: Scope, claimId: string): Promise<HeldClaim> {
      return visibleClaim(store, scope, claimId, { lock: false });
    },

    /** Extends a live claim by `ttlMs`, or by its pool's claim_ttl. */
    async renew(scope: Scope, claimId: string, ttlMs?: number): Promise<HeldClaim> {
      return store.transaction(async (tx) => {
        const { image } = await visibleClaim(tx, scope, claimId, { lock: true });
        const pool = poolOf(image);
        const expiresAt = new Date(now().getTime() + (ttlMs ?? claimTtlMs(pool)));
        const renewed = await tx.claims.renew(claimId, expiresAt);
        if (renewed === undefined)
          throw new DesiredStateError("not_found", `claim ${claimId} not found`);
        return { instance: renewed, image };
      });
    },

    release,

    /** Releases what `key` holds (on one image, or on each of the caller's images). */
    async releaseByKey(scope: Scope, key: string, imageId?: number): Promise<HeldClaim[]> {
      // Nothing held is nothing to release: releasing is idempotent.
      const held = await store.claims.list({ userId: scope.userId, imageId, key });
      const released: HeldClaim[] = [];
      for (const instance of held) {
        if (instance.claim_id === null) continue;
        try {
          released.push(await release(scope, instance.claim_id));
        } catch (error) {
          // Released meanwhile by someone else: nothing left to do for that one.
          if (!(error instanceof DesiredStateError && error.code === "not_found")) throw error;
        }
      }
      return released;
    },

    /**
     * Removes one instance for good (`POST /api/containers/{id}/destroy`): its claim, if any,
     * is released with it, and the controller refills the pool (or the image's count) with a new
     * instance. Audited as `instance.destroy` through the write path.
     */
    async destroy(scope: Scope, instanceId: string): Promise<HeldClaim> {
      return store.transaction(async (tx) => {
        const found = await tx.instances.find(instanceId);
        if (found === undefined || (scope.userId !== undefined && found.user_id !== scope.userId))
          throw new DesiredStateError("not_found", `container ${instanceId} not found`);
        const image = await lockVisibleImage(tx, scope, found.image_id);
        const instance = (await tx.instances.find(instanceId)) ?? found;
        if (instance.claim_id !== null) {
          const locked = await tx.claims.lockById(instance.claim_id);
          if (locked !== undefined)
            await endClaimOf(tx, image, locked, "pool.released", "destroyed");
        }
        await tx.instances.markForDeletion([instanceId], "destroyed");
        const updated = await commitImageChange(
          tx,
          image,
          {
            bumpGeneration: false,
            reason: "destroyed",
            action: "instance.destroy",
            actor: scope.actor,
            audit: {
              old: {
                [`instances.${instanceId}.deletion_requested`]:
                  instance.deletion_requested_at !== null,
              },
              new: { [`instances.${instanceId}.deletion_requested`]: true },
            },
          },
          options,
        );
        const after = (await tx.instances.find(instanceId)) ?? instance;
        return { instance: after, image: updated };
      });
    },
  };
}

export type ClaimsService = ReturnType<typeof createClaimsService>;
