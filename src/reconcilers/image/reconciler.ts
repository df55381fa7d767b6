import pMap from "p-map";
import {
  ContainerNameConflictError,
  type ContainerRuntime,
  type ContainerSnapshot,
  ImageNotFoundError,
} from "../../docker/runtime.ts";
import { parseDuration } from "../../domain/duration.ts";
import { containerLabels, labelKeys } from "../../domain/labels.ts";
import { containerName, newInstanceId } from "../../domain/names.ts";
import { type ContainerSpec, specHash } from "../../domain/spec-hash.ts";
import type { Logger } from "../../logger.ts";
import type { Db } from "../../store/database.ts";
import { appendEvents } from "../../store/events-repository.ts";
import { deleteImageRow, findImage } from "../../store/images-repository.ts";
import {
  deleteInstanceRow,
  insertInstances,
  listInstancesOfImage,
  markInstancesForDeletion,
  patchObserved,
} from "../../store/instances-repository.ts";
import { jsonb } from "../../store/json.ts";
import { assignContainers } from "./assign.ts";
import { containerEvent, type EventContext, imageEvent, strayRemovedEvent } from "./event-data.ts";
import type { ImageRecord, InstanceRecord, ObservedPatch } from "./model.ts";
import { type ObserveContext, observeInstance } from "./observe.ts";
import { type Action, planImage } from "./plan.ts";
import { imageConditions, msUntilReady, type Runnability, sameConditions } from "./status.ts";

export type ReconcilerSettings = {
  readonly orchestratorId: string;
  readonly advertiseHost: string;
  readonly publishIp: string;
  /** Seconds a container gets to stop before it is killed. */
  readonly stopTimeoutSeconds: number;
  /** Docker calls in flight at once for one image. */
  readonly actionConcurrency: number;
};

/** How an image becomes runnable: a reference is pulled, an upload is built (build pipeline). */
export type ImageResolver = (image: ImageRecord) => Promise<Runnability>;

/** Called before an image row is deleted, to remove what it left on disk and in Docker. */
export type ImageCleanup = (image: ImageRecord) => Promise<void>;

export type ReconcilerDependencies = {
  readonly db: Db;
  readonly runtime: ContainerRuntime;
  readonly logger: Logger;
  readonly settings: ReconcilerSettings;
  readonly resolveImage: ImageResolver;
  readonly cleanupImage?: ImageCleanup;
  /** The last lines a container wrote, kept on the instance when it fails. */
  readonly logTail?: (containerId: string, lines: number) => Promise<string>;
  readonly now?: () => Date;
};

export type ReconcileResult = { readonly requeueAfterMs?: number };

/** An error worth a retry with back-off (pull failed, Docker action failed). */
export class ReconcileError extends Error {
  override name = "ReconcileError";
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * reconcile(imageId): reads the whole desired and actual state of one image, plans, acts, and
 * records every change with its events. Level-triggered: it never trusts what triggered it.
 */
export function createImageReconciler(deps: ReconcilerDependencies) {
  const { db, runtime, settings } = deps;
  const now = deps.now ?? (() => new Date());

  async function reconcile(imageId: number): Promise<ReconcileResult> {
    const log = deps.logger.child({ imageId });
    const image = await findImage(db, imageId);
    const containers = await runtime.listManaged(settings.orchestratorId, imageId);
    if (image === undefined) {
      await removeStrays(undefined, containers, "orphan", log);
      return {};
    }

    const runnability = image.status === "deleting" ? notNeeded : await deps.resolveImage(image);
    const reference = runnability.ok ? runnability.reference : (image.image_reference ?? "");
    const eventContext: EventContext = {
      advertiseHost: settings.advertiseHost,
      imageReference: reference,
    };
    const desiredHash = runnability.ok ? specHash(containerSpec(image, runnability)) : undefined;

    const session = createSession(image, eventContext, log);
    let records = await session.syncAll(await listInstancesOfImage(db, imageId), containers);

    const plan = planImage({ image, records, containers, desiredHash, now: now() });
    let failures: unknown[] = [];
    if (plan.actions.length > 0) {
      log.debug({ actions: plan.actions.map((action) => action.kind) }, "executing plan");
      failures = await session.execute(plan.actions, records, containers, desiredHash, runnability);
      if (plan.actions.some((action) => action.kind === "finishImageDeletion")) return {};
      const refreshed = await runtime.listManaged(settings.orchestratorId, imageId);
      records = await session.syncAll(await listInstancesOfImage(db, imageId), refreshed);
      await session.writeStatus(records, refreshed, runnability, desiredHash);
    } else {
      await session.writeStatus(records, containers, runnability, desiredHash);
    }

    if (!runnability.ok && runnability.degraded) {
      throw new ReconcileError(runnability.reason, runnability.message);
    }
    if (failures.length > 0) {
      const first = failures[0] as Error;
      throw new ReconcileError(
        "ActionFailed",
        `${failures.length} action(s) failed: ${first.message}`,
        { cause: first },
      );
    }
    // Look again when a young instance has run long enough to count as ready.
    const readyIn = msUntilReady(records, now());
    const requeue = [plan.requeueAfterMs, readyIn === undefined ? undefined : readyIn + 50].filter(
      (value): value is number => value !== undefined,
    );
    return requeue.length === 0 ? {} : { requeueAfterMs: Math.min(...requeue) };
  }

  async function removeStrays(
    image: ImageRecord | undefined,
    strays: readonly ContainerSnapshot[],
    reason: string,
    log: Logger,
  ): Promise<void> {
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

  function createSession(image: ImageRecord, eventContext: EventContext, log: Logger) {
    const records = new Map<string, InstanceRecord>();

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
      await db.transaction().execute(async (trx) => {
        await patchObserved(trx, instance.id, patch);
        await appendEvents(trx, events);
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
            container = (await runtime.inspect(container.id)) ?? container;
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

    async function createAndStart(
      instance: InstanceRecord,
      desiredHash: string,
      runnability: Runnability,
      reason: string,
    ) {
      if (!runnability.ok) return;
      const labels = containerLabels({
        orchestratorId: settings.orchestratorId,
        imageId: image.id,
        instanceId: instance.id,
        userId: image.user_id,
        specHash: desiredHash,
      });
      let containerId: string;
      try {
        containerId = await runtime.create({
          name: instance.container_name,
          image: runnability.reference,
          env: image.env,
          labels,
          containerPort: image.container_port,
          publishIp: settings.publishIp,
          nanoCpus: image.nano_cpus,
          memoryBytes: image.memory_bytes,
          healthcheck: dockerHealthcheck(image),
        });
      } catch (error) {
        if (!(error instanceof ContainerNameConflictError)) {
          await record(
            instance,
            undefined,
            {},
            { last_error: `create failed: ${(error as Error).message}` },
          );
          if (error instanceof ImageNotFoundError)
            throw new ReconcileError("ImageMissing", error.message);
          throw error;
        }
        // Created before a crash, not recorded: adopt it if it is ours, else refuse.
        const existing = await runtime.inspect(instance.container_name);
        if (
          existing?.labels[labelKeys.instanceId] !== instance.id ||
          existing.labels[labelKeys.managedBy] !== settings.orchestratorId
        ) {
          const message = `container name ${instance.container_name} is taken by a container this controller does not manage`;
          await record(instance, undefined, {}, { last_error: message });
          throw new ReconcileError("NameConflict", message);
        }
        containerId = existing.id;
      }
      let current = await record(
        instance,
        {
          id: containerId,
          name: instance.container_name,
          labels,
          state: "created",
          createdAt: now(),
          ports: {},
        },
        { reason },
      );
      try {
        await runtime.start(containerId);
      } catch (error) {
        log.warn({ instanceId: instance.id, err: error }, "container start failed");
        const inspected = await runtime.inspect(containerId);
        await record(
          current,
          inspected,
          { reason },
          { last_error: `start failed: ${(error as Error).message}` },
        );
        throw error;
      }
      current = find(instance.id);
      await record(current, await runtime.inspect(containerId), { reason });
    }

    async function stopAndRemove(instance: InstanceRecord, containerId: string, reason: string) {
      await runtime.stop(containerId, settings.stopTimeoutSeconds);
      const stopped = await runtime.inspect(containerId);
      const current = await record(instance, stopped, { reason, expectedStop: true });
      await runtime.remove(containerId);
      return record(current, undefined, { reason, expectedStop: true });
    }

    async function perform(
      action: Action,
      desiredHash: string | undefined,
      runnability: Runnability,
      containers: readonly ContainerSnapshot[],
    ) {
      switch (action.kind) {
        case "removeStray": {
          const stray = containers.find((container) => container.id === action.containerId);
          if (stray !== undefined) await removeStrays(image, [stray], action.reason, log);
          return;
        }
        case "addInstances": {
          const created = await db.transaction().execute(async (trx) => {
            const rows = await insertInstances(
              trx,
              Array.from({ length: action.count }, () => {
                const id = newInstanceId();
                return {
                  id,
                  image_id: image.id,
                  user_id: image.user_id,
                  container_name: containerName(settings.orchestratorId, image.name, id),
                };
              }),
            );
            return rows;
          });
          for (const row of created) records.set(row.id, row);
          log.info({ count: action.count }, "instances added");
          if (desiredHash === undefined) return;
          const results = await pMap(
            created,
            (row) =>
              createAndStart(row, desiredHash, runnability, "scale_up").then(
                () => undefined,
                (error: unknown) => error,
              ),
            { concurrency: settings.actionConcurrency },
          );
          const failed = results.find((result) => result !== undefined);
          if (failed !== undefined) throw failed;
          return;
        }
        case "createContainer":
          if (desiredHash !== undefined)
            await createAndStart(find(action.instanceId), desiredHash, runnability, action.reason);
          return;
        case "replaceContainer": {
          if (desiredHash === undefined) return;
          const removed = await stopAndRemove(
            find(action.instanceId),
            action.containerId,
            action.reason,
          );
          const reason = action.reason === "unhealthy" ? "replace_unhealthy" : "replace";
          await createAndStart(removed, desiredHash, runnability, reason);
          return;
        }
        case "startContainer": {
          const instance = find(action.instanceId);
          await runtime.start(action.containerId);
          await record(
            instance,
            await runtime.inspect(action.containerId),
            { reason: action.reason },
            {
              restart_count: instance.restart_count + (action.reason === "restart" ? 1 : 0),
            },
          );
          return;
        }
        case "stopContainer": {
          const instance = find(action.instanceId);
          await runtime.stop(action.containerId, settings.stopTimeoutSeconds);
          await record(instance, await runtime.inspect(action.containerId), {
            reason: "stop",
            expectedStop: true,
          });
          return;
        }
        case "removeInstance": {
          let instance = find(action.instanceId);
          if (action.mark) {
            await markInstancesForDeletion(db, [instance.id], action.reason);
            instance = {
              ...instance,
              deletion_requested_at: now(),
              deletion_reason: action.reason,
            };
          }
          if (action.containerId !== null) {
            const current = await stopAndRemove(instance, action.containerId, action.reason);
            instance = current;
          } else if (instance.container_id !== null) {
            instance = await record(instance, undefined, {
              reason: action.reason,
              expectedStop: true,
            });
          }
          await deleteInstanceRow(db, instance.id);
          records.delete(instance.id);
          log.info({ instanceId: instance.id, reason: action.reason }, "instance removed");
          return;
        }
        case "finishImageDeletion": {
          await deps.cleanupImage?.(image);
          await db.transaction().execute(async (trx) => {
            await deleteImageRow(trx, image.id);
            await appendEvents(trx, [imageEvent("image.deleted", image, "deleted")]);
          });
          log.info("image deleted");
          return;
        }
      }
    }

    /** Removals first (they free names, ports and max_instances room), then the rest, then rollouts. */
    async function execute(
      actions: readonly Action[],
      current: readonly InstanceRecord[],
      containers: readonly ContainerSnapshot[],
      desiredHash: string | undefined,
      runnability: Runnability,
    ): Promise<unknown[]> {
      for (const instance of current) records.set(instance.id, instance);
      const phases: Array<Array<Action["kind"]>> = [
        ["removeStray", "removeInstance"],
        ["addInstances", "createContainer", "startContainer", "stopContainer"],
        ["replaceContainer"],
        ["finishImageDeletion"],
      ];
      const failures: unknown[] = [];
      for (const kinds of phases) {
        const batch = actions.filter((action) => kinds.includes(action.kind));
        await pMap(
          batch,
          async (action) => {
            try {
              await perform(action, desiredHash, runnability, containers);
            } catch (error) {
              log.warn({ action: action.kind, err: error }, "action failed");
              failures.push(error);
            }
          },
          { concurrency: settings.actionConcurrency },
        );
      }
      return failures;
    }

    async function writeStatus(
      current: readonly InstanceRecord[],
      containers: readonly ContainerSnapshot[],
      runnability: Runnability,
      desiredHash: string | undefined,
    ): Promise<void> {
      if (image.status === "deleting") return;
      const assignment = assignContainers(current, containers);
      const conditions = imageConditions({
        image,
        records: current,
        containerOf: (instance) => assignment.byInstance.get(instance.id),
        runnability,
        desiredHash,
        now: now(),
      });
      // A reference image's status and Docker image id are this controller's to write; an
      // upload's belong to the build pipeline, which may have moved on since this pass read them.
      const reference = image.source_type === "reference";
      const status = reference ? (runnability.ok ? "ready" : "pending") : image.status;
      const dockerImageId =
        reference && runnability.ok ? runnability.dockerImageId : image.docker_image_id;
      if (
        sameConditions(conditions, image.conditions) &&
        image.observed_generation === image.generation &&
        status === image.status &&
        dockerImageId === image.docker_image_id
      ) {
        return;
      }
      await db
        .updateTable("images")
        .set({
          conditions: jsonb(conditions),
          observed_generation: image.generation,
          ...(reference ? { status, docker_image_id: dockerImageId } : {}),
        })
        .where("id", "=", image.id)
        // Never over a deletion requested while this pass ran, nor back over a newer pass.
        .where("status", "<>", "deleting")
        .where("observed_generation", "<=", image.generation)
        .execute();
      const wasReady =
        image.conditions.find((condition) => condition.type === "Ready")?.status === "True";
      const isReady = conditions.find((condition) => condition.type === "Ready")?.status === "True";
      if (wasReady !== isReady) log.info({ ready: isReady }, "image readiness changed");
    }

    return { syncAll, execute, writeStatus };
  }

  return { reconcile };
}

const notNeeded: Runnability = {
  ok: false,
  reason: "Deleting",
  message: "image is being deleted",
  degraded: false,
};

function dockerHealthcheck(image: ImageRecord) {
  const check = image.health_check;
  if (check?.test === undefined) return undefined;
  const ms = (value: string, fallback: number) => {
    const parsed = parseDuration(value);
    return parsed.ok ? parsed.value : fallback;
  };
  return {
    test: check.test,
    intervalMs: ms(check.interval, 10_000),
    timeoutMs: ms(check.timeout, 3_000),
    retries: check.retries,
    startPeriodMs: ms(check.start_period, 0),
  };
}

/** The part of an image's desired state that a running container embodies. */
export function containerSpec(
  image: ImageRecord,
  runnable: Extract<Runnability, { ok: true }>,
): ContainerSpec {
  return {
    image: runnable.reference,
    imageId: runnable.dockerImageId,
    env: image.env,
    containerPort: image.container_port,
    nanoCpus: image.nano_cpus,
    memoryBytes: image.memory_bytes,
    healthcheck: image.health_check?.test,
  };
}

export type ImageReconciler = ReturnType<typeof createImageReconciler>;
