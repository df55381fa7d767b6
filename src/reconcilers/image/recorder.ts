import pMap from "p-map";
import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import { containerEvent, type EventContext } from "../../domain/event-builders.ts";
import type { Logger } from "../../logger.ts";
import { assignContainers } from "./assign.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import type { ImageRecord, InstanceRecord, ObservedPatch } from "./model.ts";
import { type ObserveContext, observeInstance } from "./observe.ts";

const oomSettleWindowMs = 2_000;
const oomSettleDelayMs = 500;

/**
 * The instances of one image during one pass, and the one way their observed state is written:
 * an observation (pure `observeInstance`) becomes the row's new columns and its events, in one
 * transaction.
 */
export function createRecorder(
  deps: ReconcilerDependencies,
  image: ImageRecord,
  eventContext: EventContext,
  log: Logger,
) {
  const { store, runtime, settings } = deps;
  const now = deps.now ?? (() => new Date());
  const records = new Map<string, InstanceRecord>();

  /**
   * Inspects a container. Docker can flag an OOM kill a moment after it reports the exit: a
   * fresh SIGKILL exit (137) not flagged yet is inspected once more after a short wait, so the
   * death is recorded as what it was, unless Docker reported a kill of it (container-news.ts).
   */
  async function inspect(containerId: string): Promise<ContainerSnapshot | undefined> {
    const first = await runtime.inspect(containerId);
    const details = first?.details;
    const fresh =
      details?.finishedAt != null &&
      now().getTime() - details.finishedAt.getTime() < oomSettleWindowMs;
    if (first?.state !== "exited" || details?.exitCode !== 137 || details.oomKilled || !fresh)
      return first;
    // Killed through the engine (a `kill` event): a signal someone sent, not the kernel's OOM.
    if (deps.containerNews?.wasKilled(containerId) === true) return first;
    await new Promise((resolve) => setTimeout(resolve, oomSettleDelayMs));
    return (await runtime.inspect(containerId)) ?? first;
  }

  /** Applies an observation to a record: status and its events in one transaction. */
  async function record(
    instance: InstanceRecord,
    container: ContainerSnapshot | undefined,
    context: Omit<ObserveContext, "now" | "containerPort">,
    extra: ObservedPatch = {},
  ): Promise<InstanceRecord> {
    const observation = observeInstance(instance, container, {
      ...context,
      now: now(),
      containerPort: image.container_port,
      restartPolicy: withOptionDefaults(image.container_options).restart_policy,
    });
    const patch: ObservedPatch = { ...observation.patch, ...extra };
    const died = observation.events.some(
      (event) =>
        event.type === "container.failed" ||
        (event.type === "container.stopped" && event.reason === "exited"),
    );
    if (died && container !== undefined && deps.logTail !== undefined) {
      const logs = await deps.logTail(container.id, 20).catch(() => "");
      if (logs.length > 0) patch.last_logs = logs.slice(-4_000);
    }
    if (Object.keys(patch).length === 0 && observation.events.length === 0) return instance;
    const updated: InstanceRecord = { ...instance, ...patch };
    const containerId = container?.id ?? instance.container_id;
    const events = observation.events.map((event) =>
      containerEvent(image, updated, containerId, event, eventContext),
    );
    await store.transaction(async (tx) => {
      await tx.instances.patchObserved(instance.id, patch);
      await tx.events.append(events);
    });
    for (const event of observation.events) {
      log.info(
        { instanceId: instance.id, containerId, event: event.type, reason: event.reason },
        "container changed",
      );
    }
    records.set(updated.id, updated);
    return updated;
  }

  /**
   * The controller's mark for deletion (scale-down, a rollout retiring an instance): only if
   * nobody claimed the instance since the pass read it. With a container, its
   * `container.draining` event is written in the same transaction, so that routers stop sending
   * it new requests before it stops. The record as marked, or undefined when it was claimed.
   */
  async function markForDeletion(
    instance: InstanceRecord,
    reason: string,
  ): Promise<InstanceRecord | undefined> {
    const marked: InstanceRecord = {
      ...instance,
      deletion_requested_at: now(),
      deletion_reason: reason,
    };
    const draining =
      instance.container_id === null
        ? []
        : [
            containerEvent(
              image,
              marked,
              instance.container_id,
              { type: "container.draining", reason },
              eventContext,
            ),
          ];
    const done = await store.transaction(async (tx) => {
      if (!(await tx.instances.markUnclaimedForDeletion(instance.id, reason))) return false;
      await tx.events.append(draining);
      return true;
    });
    if (!done) return undefined;
    if (draining.length > 0) {
      log.info(
        { instanceId: instance.id, containerId: instance.container_id, reason },
        "container draining",
      );
    }
    records.set(marked.id, marked);
    return marked;
  }

  /**
   * An instance marked for deletion by someone else (`DELETE /api/containers/{id}`, `destroy`, a
   * claim released with `recycle: replace`) or going with its image: its `container.draining`
   * event, written by the controller before it stops the container rather than by the API,
   * because only the controller knows the container the removal stops (the API may mark while a
   * pass creates one) and the facts its events carry (the resolved reference). Exactly once per
   * instance: the event log itself says whether it was announced (a pass that crashed after
   * announcing, or the controller's own mark, `markForDeletion`), read in the transaction that
   * appends; one pass of an image runs at a time, in one leader. Whether it was announced now.
   */
  async function announceRemoval(
    instance: InstanceRecord,
    containerId: string,
    reason: string,
  ): Promise<boolean> {
    const event = containerEvent(
      image,
      instance,
      containerId,
      { type: "container.draining", reason },
      eventContext,
    );
    // Announced after the mark (the controller's own: in its transaction), so only events
    // since then are read. JavaScript's dates drop the microseconds: the bound is never late.
    const since = instance.deletion_requested_at ?? image.deletion_requested_at ?? undefined;
    const announced = await store.transaction(async (tx) => {
      if (await tx.events.hasInstanceEvent(image.id, instance.id, "container.draining", since))
        return false;
      await tx.events.append([event]);
      return true;
    });
    if (announced) {
      log.info({ instanceId: instance.id, containerId, reason }, "container draining");
    }
    return announced;
  }

  /** Inspects exited containers whose exit is news (exit code, OOM, times), then records. */
  async function syncAll(
    current: readonly InstanceRecord[],
    containers: readonly ContainerSnapshot[],
  ): Promise<InstanceRecord[]> {
    const assignment = assignContainers(current, containers);
    return pMap(
      current,
      async (instance) => {
        let container = assignment.byInstance.get(instance.id);
        if (
          container !== undefined &&
          (container.state === "exited" || container.state === "dead") &&
          !["exited", "crash_loop", "stopped"].includes(instance.observed_state)
        ) {
          container = (await inspect(container.id)) ?? container;
        }
        records.set(instance.id, instance);
        return record(instance, container, {});
      },
      { concurrency: settings.actionConcurrency },
    );
  }

  const find = (instanceId: string) => {
    const found = records.get(instanceId);
    if (found === undefined) throw new Error(`instance ${instanceId} vanished during reconcile`);
    return found;
  };

  return {
    record,
    markForDeletion,
    announceRemoval,
    inspect,
    syncAll,
    find,
    track(instance: InstanceRecord): void {
      records.set(instance.id, instance);
    },
    forget(instanceId: string): void {
      records.delete(instanceId);
    },
  };
}

export type Recorder = ReturnType<typeof createRecorder>;
