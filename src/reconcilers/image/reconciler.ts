import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import type { EventContext } from "../../domain/event-builders.ts";
import { runnableReference } from "../../domain/names.ts";
import { minReadyMsOf } from "../../domain/rollout.ts";
import { specHash } from "../../domain/spec-hash.ts";
import { createActionRunner } from "./actions.ts";
import { containerSpec } from "./container-spec.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import { facingStateOf, readDependencyView, relatedImageIds } from "./dependency-view.ts";
import type { ImageRecord } from "./model.ts";
import {
  declaredNetworksKey,
  mayHaveUndeclaredNetworks,
  removeUndeclaredNetworks,
} from "./network-cleanup.ts";
import { hasOurName, isOwnedContainer } from "./ownership.ts";
import { checkPlacement, hasConstraints } from "./placement-check.ts";
import { type Action, planImage } from "./plan.ts";
import { expireClaims } from "./pool-expiry.ts";
import { isReady } from "./readiness.ts";
import { ReconcileError, type ReconcileResult } from "./reconcile-error.ts";
import { createRecorder } from "./recorder.ts";
import { trackRollout } from "./rollout-tracker.ts";
import { msUntilReady, type Runnability } from "./status.ts";
import { writeStatus } from "./status-writer.ts";
import { removeStrays } from "./strays.ts";
import { withSecrets } from "./with-secrets.ts";

/** Actions after which a network may have lost its last container. */
const containerRemovals: ReadonlySet<Action["kind"]> = new Set([
  "removeStray",
  "removeInstance",
  "replaceContainer",
]);

const notNeeded: Runnability = {
  ok: false,
  reason: "Deleting",
  message: "image is being deleted",
  degraded: false,
};

/**
 * reconcile(imageId): reads the whole desired and actual state of one image, plans, acts, and
 * records every change with its events. Level-triggered: it never trusts what triggered it.
 */
export function createImageReconciler(deps: ReconcilerDependencies) {
  const { store, runtime, settings } = deps;
  const now = deps.now ?? (() => new Date());
  /** Per image, its declared networks when this controller last cleaned up after them. */
  const networksCleaned = new Map<number, string>();

  /**
   * The image's labelled containers, with those Docker just told of inspected afresh (the list
   * lags behind a container's death; inspect does not). One gone meanwhile is left out.
   */
  async function freshList(imageId: number): Promise<ContainerSnapshot[]> {
    const listed = await runtime.listManaged(settings.orchestratorId, imageId);
    const stale = deps.containerNews?.takeChanged(imageId);
    if (stale === undefined || stale.size === 0) return listed;
    const fresh = await Promise.all(
      listed.map((container) =>
        stale.has(container.id) && container.state === "running"
          ? runtime.inspect(container.id)
          : container,
      ),
    );
    return fresh.filter((container): container is ContainerSnapshot => container !== undefined);
  }

  /** Constraints are matched against the engine (the only node) when an image sets any. */
  async function withPlacement(image: ImageRecord, runnability: Runnability): Promise<Runnability> {
    if (!runnability.ok || !hasConstraints(image)) return runnability;
    return checkPlacement(image, runnability, await deps.nodeFacts?.());
  }

  async function reconcile(imageId: number): Promise<ReconcileResult> {
    const log = deps.logger.child({ imageId });
    const image = await store.images.find(imageId);
    // When the containers the status judges were listed (the instant the request went out):
    // an instance counts as having run min_ready only if it was seen up that long after it
    // started. Reckoned at the pass's end instead, a container seen running at its start and
    // dead a moment later counted as ready once the pass itself had taken min_ready (a busy
    // engine or database): a crash-looping dependency was Ready, and its dependents started.
    let listedAt = now();
    const labelled = await freshList(imageId);
    if (image === undefined) {
      networksCleaned.delete(imageId);
      // Left by a crash or a deletion: ours by name only; no row, so no event to write.
      const leftovers = labelled.filter((container) =>
        hasOurName(container, settings.orchestratorId),
      );
      await removeStrays(deps, undefined, leftovers, "orphan", log);
      return {};
    }
    /** Labels are claims: only containers with the name we gave them are ours to touch. */
    const ours = (listed: readonly ContainerSnapshot[]) =>
      listed.filter((container) =>
        isOwnedContainer(container, settings.orchestratorId, image.name),
      );
    const containers = ours(labelled);

    const runnability =
      image.status === "deleting"
        ? notNeeded
        : await withPlacement(
            image,
            await withSecrets(image, await deps.resolveImage(image), deps.resolveSecrets),
          );
    const eventContext: EventContext = {
      advertiseHost: settings.advertiseHost,
      reference: runnability.ok
        ? runnability.reference
        : runnableReference(image, settings.builtImagePrefix),
    };
    const desiredHash = runnability.ok ? specHash(containerSpec(image, runnability)) : undefined;

    const recorder = createRecorder(deps, image, eventContext, log);
    const actions = createActionRunner(deps, image, recorder, log);
    // The API adds instance rows together with the desired count (POST /api/containers/{id}):
    // a count read before such a write and rows read after it would look like one too many,
    // and the newest would be scaled away. The image's version, read again after the rows,
    // tells of a write in between: then look again, from the start.
    const listed = await store.instances.listOfImageThenVersion(imageId);
    let stored = listed.instances;
    if (listed.resourceVersion !== undefined && listed.resourceVersion !== image.resource_version) {
      return { requeueAfterMs: 0 };
    }
    // Claims past their expiry go back to the pool (to be recycled) before the plan counts them.
    const expiry = await expireClaims(deps, image, stored, { ...eventContext, now: now() }, log);
    if (expiry.expired > 0) stored = await store.instances.listOfImage(imageId);
    let records = await recorder.syncAll(stored, containers);
    const dependencies = await readDependencyView(store, image);
    // While a dependency is not there yet, nothing is created (nor replaced).
    const creatableHash = dependencies.waitFor.dependencies ? undefined : desiredHash;

    const plan = planImage({
      image,
      records,
      containers,
      desiredHash,
      now: now(),
      listedAt,
      waitFor: dependencies.waitFor,
    });
    let failures: unknown[] = [];
    let seen = containers;
    if (plan.actions.length > 0) {
      log.debug({ actions: plan.actions.map((action) => action.kind) }, "executing plan");
      failures = await actions.execute(
        plan.actions,
        records,
        containers,
        creatableHash,
        runnability,
      );
      if (plan.actions.some((action) => action.kind === "finishImageDeletion")) {
        networksCleaned.delete(imageId);
        // Gone: what waited for it (a dependency being deleted) looks again.
        return { wake: await relatedImageIds(store, image) };
      }
      listedAt = now();
      seen = ours(await runtime.listManaged(settings.orchestratorId, imageId));
      records = await recorder.syncAll(await store.instances.listOfImage(imageId), seen);
    }
    // A network no image declares any more can go once the containers on it are gone.
    const declaredNetworks = declaredNetworksKey(image);
    if (
      mayHaveUndeclaredNetworks(
        plan.actions.some((action) => containerRemovals.has(action.kind)),
        declaredNetworks,
        networksCleaned.get(imageId),
      )
    ) {
      await removeUndeclaredNetworks(deps, image.user_id);
      networksCleaned.set(imageId, declaredNetworks);
    }
    // The rollout of the newest revision: progress, completion, failure and rollback, as of
    // the moment `seen` was listed (see listedAt).
    const rollout = await trackRollout(
      deps,
      image,
      {
        records,
        containers: seen,
        desiredHash,
        ready: isReady({
          image,
          records,
          containers: seen,
          runnability,
          desiredHash,
          now: listedAt,
        }),
        now: listedAt,
        reference: eventContext.reference,
      },
      log,
    );
    const conditions = await writeStatus(store, image, log, {
      now: listedAt,
      records,
      containers: seen,
      runnability,
      desiredHash,
      dependencies: dependencies.check,
      rollout: rollout.row,
    });
    // Dependents look again when what they wait for changed (Ready, Degraded, started).
    const observed =
      image.status === "deleting" ? image : { ...image, observed_generation: image.generation };
    const wake =
      facingStateOf(image, image.conditions, stored) ===
      facingStateOf(observed, conditions, records)
        ? []
        : await relatedImageIds(store, image);

    if (!runnability.ok && runnability.degraded) {
      throw new ReconcileError(runnability.reason, runnability.message, { wake });
    }
    if (failures.length > 0) {
      const first = failures[0] as Error;
      throw new ReconcileError(
        "ActionFailed",
        `${failures.length} action(s) failed: ${first.message}`,
        { cause: first, wake },
      );
    }
    // Look again when a young instance has run long enough to count as ready: reckoned at the
    // same instant as the status just written (listedAt), never a later one. With a later clock,
    // an instance that turned ready in between was "not yet" in the status and "already" here:
    // no look again, and Ready stayed False until the resync (seen with three instances started
    // within a second and min_ready 20s: "2/3 instances healthy" for minutes).
    const readyIn = msUntilReady(
      records,
      listedAt,
      minReadyMsOf(withOptionDefaults(image.container_options).rollout),
    );
    const requeue = [
      plan.requeueAfterMs,
      rollout.requeueAfterMs,
      readyIn === undefined ? undefined : readyIn + 50,
      expiry.nextInMs === undefined ? undefined : expiry.nextInMs + 50,
    ].filter((value): value is number => value !== undefined);
    return {
      ...(requeue.length === 0 ? {} : { requeueAfterMs: Math.min(...requeue) }),
      ...(wake.length === 0 ? {} : { wake }),
    };
  }

  return { reconcile };
}

export type ImageReconciler = ReturnType<typeof createImageReconciler>;
