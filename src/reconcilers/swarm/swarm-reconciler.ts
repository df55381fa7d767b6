import { dockerStatus } from "../../docker/retry.ts";
import type { ContainerSnapshot } from "../../docker/runtime.ts";
import type {
  ServiceRequest,
  ServiceSnapshot,
  SwarmRuntime,
  TaskSnapshot,
} from "../../docker/swarm.ts";
import { labelKeys } from "../../domain/labels.ts";
import { newInstanceRows, runnableReference } from "../../domain/names.ts";
import type { Logger } from "../../logger.ts";
import { secretMaterial } from "../image/container-spec.ts";
import type { ReconcilerDependencies } from "../image/dependencies.ts";
import { readDependencyView } from "../image/dependency-view.ts";
import { deleteImageRow } from "../image/image-deletion.ts";
import { type ImageRecord, type InstanceRecord, isMarkedForDeletion } from "../image/model.ts";
import { ReconcileError, type ReconcileResult } from "../image/reconcile-error.ts";
import { createRecorder } from "../image/recorder.ts";
import { writeStatus } from "../image/status-writer.ts";
import { withSecrets } from "../image/with-secrets.ts";
import { pausedUpdateRollout } from "./paused-update.ts";
import { serviceName, serviceRequest, serviceSecrets, serviceSpecHash } from "./service-request.ts";
import {
  assignSlots,
  isUnschedulable,
  isWanted,
  observedTask,
  taskAsContainer,
  taskError,
  taskHost,
} from "./task-view.ts";
import { sameUpdatePolicy } from "./update-policy.ts";

export type SwarmReconcilerDependencies = ReconcilerDependencies & {
  readonly swarm: SwarmRuntime;
  /**
   * How soon a converged image is looked at again. Swarm heals tasks itself, and a task on
   * another node sends this engine no event: only a look reports its transitions.
   */
  readonly observeEveryMs?: number;
};

/** While tasks are being scheduled, started or removed: look again soon. */
const settlingMs = 1_000;

/**
 * reconcile(imageId) for RUNTIME=swarm: one Swarm service per image, `replicas` the desired
 * count. Swarm places, starts, restarts and replaces tasks; this pass keeps the service's spec
 * and replicas equal to the desired state (a spec-hash label tells drift) and reports each task
 * as the instance record of its slot, through the container runtime's own observation, so
 * every transition writes its event once, in the same transaction as the status.
 */
export function createSwarmReconciler(deps: SwarmReconcilerDependencies) {
  const { store, swarm, settings } = deps;
  const now = deps.now ?? (() => new Date());
  const observeEveryMs = deps.observeEveryMs ?? 10_000;

  /** Removes the image's services and tells whether their containers are gone (this engine's). */
  async function removeServices(
    services: readonly ServiceSnapshot[],
    imageId: number,
  ): Promise<boolean> {
    for (const service of services) await swarm.removeService(service.id);
    await swarm.removeUnusedSecrets(settings.orchestratorId, imageId, new Set());
    const left = await deps.runtime.listManaged(settings.orchestratorId, imageId);
    return left.length === 0;
  }

  async function finishDeletion(image: ImageRecord, log: Logger): Promise<void> {
    await deleteImageRow(deps, image, log);
    if ((await store.images.list(image.user_id)).length === 0) {
      for (const name of await swarm.listTenantNetworks(settings.orchestratorId, image.user_id)) {
        await swarm.removeNetwork(name);
      }
    }
  }

  async function reconcile(imageId: number): Promise<ReconcileResult> {
    const log = deps.logger.child({ imageId });
    const image = await store.images.find(imageId);
    const services = await swarm.listServices(settings.orchestratorId, imageId);
    if (image === undefined) {
      // Left by a crash or a deletion: no row, so no event to write.
      const gone = await removeServices(services, imageId);
      return gone ? {} : { requeueAfterMs: settlingMs };
    }
    const runnability =
      image.status === "deleting"
        ? ({
            ok: false,
            reason: "Deleting",
            message: "image is being deleted",
            degraded: false,
          } as const)
        : await withSecrets(image, await deps.resolveImage(image), deps.resolveSecrets);
    const reference = runnability.ok
      ? runnability.reference
      : runnableReference(image, settings.builtImagePrefix);
    const eventContext = { advertiseHost: settings.advertiseHost, reference };
    const desiredHash = runnability.ok ? serviceSpecHash(image, runnability) : undefined;
    const name = serviceName(settings.orchestratorId, image.id);
    /** Events of a task name its node, and where it answers (its node's address elsewhere). */
    const recorderOn = (task?: TaskSnapshot) =>
      createRecorder(
        deps,
        image,
        task === undefined
          ? eventContext
          : {
              ...eventContext,
              node: task.node,
              advertiseHost: taskHost(task) ?? settings.advertiseHost,
            },
        log,
      );
    const recorder = recorderOn();

    /** The instance goes: its task's end is recorded, then the row. */
    async function removeInstance(record: InstanceRecord, reason: string): Promise<void> {
      if (record.container_id !== null) {
        await recorder.record(record, undefined, { reason, expectedStop: true });
      }
      await store.transaction((tx) => tx.instances.delete(record.id));
      log.info({ instanceId: record.id, reason }, "instance removed");
    }

    let records = await store.instances.listOfImage(imageId);
    if (image.status === "deleting") {
      const gone = await removeServices(services, imageId);
      for (const record of records) await removeInstance(record, "image_deleted");
      if (!gone) return { requeueAfterMs: settlingMs };
      await finishDeletion(image, log);
      return {};
    }

    // Exactly min(desired, max) live instance rows: one per replica.
    for (const record of records.filter(isMarkedForDeletion)) {
      await removeInstance(record, record.deletion_reason ?? "deleted");
    }
    records = records.filter((record) => !isMarkedForDeletion(record));
    const target = Math.min(image.desired_instances, image.max_instances);
    const dependencies = await readDependencyView(store, image);
    if (records.length < target && !dependencies.waitFor.dependencies) {
      const rows = newInstanceRows(settings.orchestratorId, image, target - records.length);
      records = [...records, ...(await store.transaction((tx) => tx.instances.insert(rows)))];
      log.info({ count: rows.length }, "instances added");
    }

    // The service: created, or updated when its spec (hash) or replicas differ.
    let failure: unknown;
    let wroteService = false;
    const [service, ...extra] = services;
    for (const duplicate of extra) await swarm.removeService(duplicate.id);
    if (runnability.ok && desiredHash !== undefined && !dependencies.waitFor.dependencies) {
      const base = {
        image,
        reference: runnability.reference,
        specHash: desiredHash,
        replicas: target,
        settings,
      };
      /** The full request, secrets opened: only for a write, never kept. */
      const withValues = () => {
        if (runnability.secrets === undefined)
          return serviceRequest({ ...base, env: plainEnv(image) });
        const values = runnability.secrets.open();
        return serviceRequest({
          ...base,
          env: secretMaterial(image, values).env,
          secrets: serviceSecrets(
            image,
            { versions: runnability.secrets.versions, values },
            settings.orchestratorId,
          ),
        });
      };
      const update = serviceRequest({ ...base, env: {} }).update;
      try {
        if (service === undefined) {
          wroteService = true;
          const request = withValues();
          await swarm.createService(request);
          await removeOtherSecrets(image.id, request);
          log.info({ service: name, replicas: target }, "service created");
        } else if (
          service.labels[labelKeys.specHash] !== desiredHash ||
          service.replicas !== target ||
          !sameUpdatePolicy(service.update, update)
        ) {
          wroteService = true;
          const request = withValues();
          await swarm.updateService(service, request);
          await removeOtherSecrets(image.id, request);
          log.info(
            {
              service: name,
              replicas: target,
              specChanged: service.labels[labelKeys.specHash] !== desiredHash,
              updatePolicyChanged: !sameUpdatePolicy(service.update, update),
            },
            "service updated",
          );
        }
      } catch (error) {
        // A 409 on create (made before a crash) or a stale version on update: look again.
        log.warn(
          { service: name, status: dockerStatus(error).status, err: error },
          "service write failed",
        );
        failure = error;
      }
    }

    // Tasks as instances: each record observes the task of its slot (and first the end of the
    // task it saw last, when Swarm replaced that one between two looks).
    const tasks = await listTasksOf(name);
    const assignment = assignSlots(records, tasks);
    const byContainer = new Map(
      tasks.flatMap((task) =>
        task.containerId === null ? [] : [[task.containerId, task] as const],
      ),
    );
    const observed: InstanceRecord[] = [];
    const containers: ContainerSnapshot[] = [];
    for (const record of records) {
      let current = record;
      const previous =
        record.container_id === null ? undefined : byContainer.get(record.container_id);
      const task = observedTask(assignment.get(record.id), previous);
      if (previous !== undefined && previous.id !== task?.id) {
        // The task it saw ended (or is ending) and Swarm put another in its slot: that end
        // first, then the old container's removal, each with its own container id.
        const onNode = recorderOn(previous);
        current = await onNode.record(
          current,
          taskAsContainer(previous, record.id),
          endContext(previous),
        );
        current = await onNode.record(current, undefined, { reason: "rescheduled" });
      }
      const container = task === undefined ? undefined : taskAsContainer(task, record.id);
      const host = task === undefined ? current.host : taskHost(task);
      const extraPatch = {
        ...(task !== undefined && container === undefined && task.error !== ""
          ? { last_error: taskError(task) }
          : {}),
        ...(host === current.host ? {} : { host }),
      };
      current = await recorderOn(task).record(
        current,
        container,
        task === undefined
          ? {}
          : {
              ...endContext(task),
              reason: endContext(task).reason ?? reasonOf(current, container),
            },
        extraPatch,
      );
      observed.push(current);
      if (container !== undefined) containers.push(container);
    }

    // More rows than replicas (scaled down): the rows whose task Swarm no longer wants go.
    let kept = observed;
    if (observed.length > target) {
      const unwanted = observed.filter((record) => {
        const task = assignment.get(record.id);
        return task === undefined || !isWanted(task);
      });
      const victims = unwanted.slice(0, observed.length - target);
      for (const victim of victims) await removeInstance(victim, "scale_down");
      const gone = new Set(victims.map((victim) => victim.id));
      kept = observed.filter((record) => !gone.has(record.id));
    }

    // A failed update Swarm paused: Progressing says so until the spec changes. It names the
    // revision of the spec this pass read (one written since is the next pass's).
    const paused = wroteService
      ? undefined
      : pausedUpdateRollout(service, desiredHash, image.generation, now());
    const rollout =
      paused === undefined
        ? undefined
        : {
            ...paused,
            to_revision:
              (await store.revisions.newestUpTo(image.id, image.generation))?.revision ??
              paused.to_revision,
          };

    await writeStatus(store, image, log, {
      now: now(),
      records: kept,
      containers,
      runnability,
      desiredHash,
      dependencies: dependencies.check,
      unschedulable: tasks
        .filter((task) => isWanted(task) && isUnschedulable(task))
        .map((task) => task.error),
      rollout,
    });

    if (!runnability.ok && runnability.degraded) {
      throw new ReconcileError(runnability.reason, runnability.message);
    }
    if (failure !== undefined) {
      throw new ReconcileError("ServiceWriteFailed", (failure as Error).message, {
        cause: failure,
      });
    }
    // Settled: an update Swarm paused (nothing moves until the spec changes); or every replica
    // runs the current spec and no task is on its way up or down; or the tasks that do not run
    // wait for a node their placement allows (Swarm places them when one comes, and a new
    // placement wakes the key through its write). A service this pass wrote has tasks of the
    // old spec still: Swarm has yet to start the update.
    const waitsForNode = (task: TaskSnapshot) => isWanted(task) && isUnschedulable(task);
    const settled =
      paused !== undefined ||
      (!wroteService &&
        ((kept.length === target &&
          kept.every((record) => record.observed_state === "running") &&
          tasks.every((task) => isWanted(task) === (task.state === "running")) &&
          tasks.every(
            (task) =>
              !isWanted(task) ||
              desiredHash === undefined ||
              task.labels[labelKeys.specHash] === desiredHash,
          )) ||
          (tasks.some(waitsForNode) &&
            tasks.every(
              (task) => waitsForNode(task) || isWanted(task) === (task.state === "running"),
            ))));
    return { requeueAfterMs: settled ? observeEveryMs : settlingMs };
  }

  /** The image's Docker secrets the service no longer names (an older version's) go. */
  async function removeOtherSecrets(imageId: number, request: ServiceRequest): Promise<void> {
    await swarm.removeUnusedSecrets(
      settings.orchestratorId,
      imageId,
      new Set(request.secrets.map((secret) => secret.name)),
    );
  }

  async function listTasksOf(name: string): Promise<TaskSnapshot[]> {
    try {
      return await swarm.listTasks(name);
    } catch (error) {
      if (dockerStatus(error).status === 404) return [];
      throw error;
    }
  }

  return { reconcile };
}

/** A task Swarm shut down itself (a spec update, a scale-down) ended on purpose, not in failure. */
function endContext(task: TaskSnapshot): { reason?: string; expectedStop?: boolean } {
  return task.state === "shutdown" ? { reason: "task_shutdown", expectedStop: true } : {};
}

/** Why a task changed, for its events: a new container is Swarm's scheduling. */
function reasonOf(
  record: InstanceRecord,
  container: ContainerSnapshot | undefined,
): string | undefined {
  if (container === undefined || record.container_id === container.id) return undefined;
  return record.container_id === null ? "scheduled" : "rescheduled";
}

/** The env of an image that names no secret. */
function plainEnv(image: ImageRecord): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(image.env)) {
    if (typeof value === "string") env[key] = value;
  }
  return env;
}
