import { setTimeout as delay } from "node:timers/promises";
import pMap from "p-map";
import {
  ContainerNameConflictError,
  type ContainerSnapshot,
  ImageNotFoundError,
  StaleTaskError,
  VolumeConflictError,
} from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import {
  containerLabels,
  declaredNetworkLabels,
  labelKeys,
  networkLabels,
} from "../../domain/labels.ts";
import { declaredNetworkName, newInstanceRows, tenantNetworkName } from "../../domain/names.ts";
import { bindMountIssues, namedVolumesOf, volumeDockerName } from "../../domain/volumes.ts";
import type { Logger } from "../../logger.ts";
import {
  dockerHealthcheck,
  runOptions,
  secretMaterial,
  stopGraceSeconds,
} from "./container-spec.ts";
import type { ReconcilerDependencies } from "./dependencies.ts";
import { deleteImageRow } from "./image-deletion.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { removeUndeclaredNetworks } from "./network-cleanup.ts";
import type { Action } from "./plan.ts";
import { ReconcileError } from "./reconcile-error.ts";
import type { Recorder } from "./recorder.ts";
import type { Runnability } from "./status.ts";
import { removeStrays } from "./strays.ts";

type RemoveInstance = Extract<Action, { kind: "removeInstance" }>;

/**
 * How long the instances a pass removes are announced (`container.draining`, listed as marked
 * for deletion) before they stop: once per pass, not per instance (announceRemovals).
 */
export const retireDrainMs = 2_000;

/** The env of an image that names no secret (a reference without its value refuses to run). */
function plainEnv(image: ImageRecord): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(image.env)) {
    if (typeof value !== "string") {
      throw new ReconcileError("SecretNotFound", `env.${key} names a secret that was not resolved`);
    }
    env[key] = value;
  }
  return env;
}

/** Carries out a plan's actions against Docker, recording every outcome through the recorder. */
export function createActionRunner(
  deps: ReconcilerDependencies,
  image: ImageRecord,
  recorder: Recorder,
  log: Logger,
) {
  const { store, runtime, settings } = deps;
  const now = deps.now ?? (() => new Date());
  const { record, find } = recorder;

  async function createAndStart(
    instance: InstanceRecord,
    desiredHash: string,
    runnability: Runnability,
    reason: string,
  ) {
    if (!runnability.ok) return;
    // Written by the API's rules, checked again here: a host folder only for the admin's
    // images, only under BIND_MOUNT_ALLOWLIST as it is now.
    const forbidden = bindMountIssues(withOptionDefaults(image.container_options).volumes, {
      isAdmin: image.user_id === settings.adminUserId,
      allowlist: settings.bindMountAllowlist,
    });
    if (forbidden.length > 0) {
      const message = `forbidden: ${forbidden.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`;
      await record(instance, undefined, {}, { last_error: `create failed: ${message}` });
      throw new ReconcileError("BindMountForbidden", message);
    }
    const labels = containerLabels({
      orchestratorId: settings.orchestratorId,
      imageId: image.id,
      instanceId: instance.id,
      userId: image.user_id,
      specHash: desiredHash,
    });
    // Secret values exist only here, for the engine's create call (never logged or recorded).
    const material =
      runnability.secrets === undefined
        ? undefined
        : secretMaterial(image, runnability.secrets.open());
    let containerId: string;
    try {
      containerId = await runtime.create({
        name: instance.container_name,
        image: runnability.reference,
        env: material?.env ?? plainEnv(image),
        labels,
        containerPort: image.container_port,
        publishIp: settings.publishIp,
        nanoCpus: image.nano_cpus,
        memoryBytes: image.memory_bytes,
        network: {
          name: tenantNetworkName(settings.orchestratorId, image.user_id),
          labels: networkLabels(settings.orchestratorId, image.user_id),
        },
        networks: withOptionDefaults(image.container_options).networks.map((name) => ({
          name: declaredNetworkName(settings.orchestratorId, image.user_id, name),
          labels: declaredNetworkLabels(settings.orchestratorId, image.user_id, name),
        })),
        // `app` reaches `db` as `db`, on each network they share.
        aliases: [image.name],
        pidsLimit: settings.pidsLimit,
        openFilesLimit: settings.openFilesLimit,
        diskLimit: settings.diskLimit,
        healthcheck: dockerHealthcheck(image),
        run: runOptions(image, instance.container_name, settings),
        files: material?.files,
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
        if (error instanceof VolumeConflictError)
          throw new ReconcileError("VolumeConflict", error.message);
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
      // Created before a crash, maybe before its files were written: write them again.
      if (existing.state === "created" && material !== undefined) {
        await runtime.writeFiles(containerId, material.files);
      }
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
      const named = startFailure(error);
      const inspected = await recorder.inspect(containerId);
      await record(
        current,
        inspected,
        { reason },
        { last_error: named?.message ?? `start failed: ${(error as Error).message}` },
      );
      throw named ?? error;
    }
    current = find(instance.id);
    await record(current, await recorder.inspect(containerId), { reason });
    // A new container is a restart (and a recycle) too: a request made before it is done.
    await clearRestartRequest(current);
    await clearRecycleRequest(current);
  }

  async function clearRestartRequest(instance: InstanceRecord) {
    const requestedAt = instance.restart_requested_at;
    if (requestedAt === null) return;
    await store.transaction((tx) => tx.instances.clearRestartRequest(instance.id, requestedAt));
  }

  /** A rollout never takes a claimed instance's container; one claimed after the plan stays. */
  async function claimedSincePlanned(instanceId: string): Promise<boolean> {
    const current = await store.instances.find(instanceId);
    return current?.claim_key != null;
  }

  async function clearRecycleRequest(instance: InstanceRecord) {
    const requestedAt = instance.recycle_requested_at;
    if (requestedAt === null) return;
    await store.transaction((tx) => tx.claims.clearRecycleRequest(instance.id, requestedAt));
  }

  /** Start failures the user can fix, named so the status says so instead of retrying blindly. */
  function startFailure(error: unknown): ReconcileError | undefined {
    const message = (error as Error).message;
    if (/port is already allocated|address already in use/i.test(message)) {
      return new ReconcileError("PortInUse", `port_in_use: ${message}`, { cause: error });
    }
    return undefined;
  }

  async function stopAndRemove(instance: InstanceRecord, containerId: string, reason: string) {
    await runtime.stop(containerId, stopGraceSeconds(image, settings.stopTimeoutSeconds));
    // Stopped on purpose: a SIGKILL after the grace period is expected, not an OOM to wait for.
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
        if (stray !== undefined) await removeStrays(deps, image, [stray], action.reason, log);
        return;
      }
      case "addInstances": {
        const rows = newInstanceRows(settings.orchestratorId, image, action.count);
        const created = await store.transaction((tx) => tx.instances.insert(rows));
        for (const row of created) recorder.track(row);
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
        if (action.reason === "spec_changed" && (await claimedSincePlanned(action.instanceId)))
          return;
        const reason =
          action.reason === "unhealthy"
            ? "replace_unhealthy"
            : action.reason === "recycle"
              ? "recycle"
              : "replace";
        await createAndStart(removed, desiredHash, runnability, reason);
        return;
      }
      case "startContainer": {
        const instance = find(action.instanceId);
        try {
          await runtime.start(action.containerId);
        } catch (error) {
          if (!(error instanceof StaleTaskError) || desiredHash === undefined) throw error;
          // The engine restarted and its runtime kept the container's old task: it will never
          // start again. Replace it (removed, then created anew under the same name).
          log.warn({ instanceId: instance.id, err: error }, "container cannot start; replacing it");
          const removed = await stopAndRemove(instance, action.containerId, "replace_stale");
          await createAndStart(removed, desiredHash, runnability, "replace_stale");
          return;
        }
        await record(
          instance,
          await recorder.inspect(action.containerId),
          { reason: action.reason },
          {
            restart_count: instance.restart_count + (action.reason === "restart" ? 1 : 0),
          },
        );
        return;
      }
      case "stopContainer": {
        const instance = find(action.instanceId);
        await runtime.stop(
          action.containerId,
          stopGraceSeconds(image, settings.stopTimeoutSeconds),
        );
        await record(instance, await runtime.inspect(action.containerId), {
          reason: "stop",
          expectedStop: true,
        });
        return;
      }
      case "restartContainer": {
        const instance = find(action.instanceId);
        await runtime.stop(
          action.containerId,
          stopGraceSeconds(image, settings.stopTimeoutSeconds),
        );
        const stopped = await record(instance, await runtime.inspect(action.containerId), {
          reason: "restart_requested",
          expectedStop: true,
        });
        await runtime.start(action.containerId);
        await record(stopped, await recorder.inspect(action.containerId), {
          reason: "restart_requested",
        });
        await clearRestartRequest(instance);
        log.info({ instanceId: instance.id }, "instance restarted on request");
        return;
      }
      case "removeInstance": {
        // Announced (`container.draining`) and, when marked by this pass, marked already:
        // announceRemovals, before the removal phase.
        let instance = find(action.instanceId);
        if (action.containerId !== null) {
          const current = await stopAndRemove(instance, action.containerId, action.reason);
          instance = current;
        } else if (instance.container_id !== null) {
          instance = await record(instance, undefined, {
            reason: action.reason,
            expectedStop: true,
          });
        }
        await store.transaction((tx) => tx.instances.delete(action.instanceId));
        recorder.forget(instance.id);
        log.info({ instanceId: instance.id, reason: action.reason }, "instance removed");
        return;
      }
      case "finishImageDeletion": {
        if (image.delete_volumes) await removeVolumesOfDeletedImage();
        await deleteImageRow(deps, image, log);
        // The tenant's network goes with its last image (one still in use stays), and the
        // networks it declared when no other image does.
        if ((await store.images.list(image.user_id)).length === 0) {
          await runtime.removeNetwork(tenantNetworkName(settings.orchestratorId, image.user_id));
        }
        await removeUndeclaredNetworks(deps, image.user_id);
        return;
      }
    }
  }

  /**
   * `DELETE /api/images/{id}?volumes=true`, once the image's containers are gone: the named
   * volumes its spec mounts that no other image of the tenant names. One a container still
   * mounts is left, and said so. Before the row goes, so that a crash in between repeats it.
   */
  async function removeVolumesOfDeletedImage() {
    const others = (await store.images.list(image.user_id)).filter(
      (other) => other.id !== image.id,
    );
    const stillNamed = new Set(
      others.flatMap((other) =>
        namedVolumesOf(withOptionDefaults(other.container_options).volumes),
      ),
    );
    const names = namedVolumesOf(withOptionDefaults(image.container_options).volumes);
    for (const name of names.filter((candidate) => !stillNamed.has(candidate))) {
      const dockerName = volumeDockerName(settings.orchestratorId, image.user_id, name);
      const removal = await runtime.removeVolume(dockerName);
      if (removal === "in_use") log.warn({ volume: dockerName }, "volume still in use; kept");
      else if (removal === "removed") log.info({ volume: dockerName }, "volume removed");
    }
    const kept = names.filter((candidate) => stillNamed.has(candidate));
    if (kept.length > 0) log.info({ volumes: kept }, "volumes other images name are kept");
  }

  /**
   * Before a removal of the pass stops anything, each instance that goes with its container is
   * announced: a scale-down victim or an instance a rollout retires is marked for deletion with
   * its `container.draining` event (recorder.markForDeletion); one marked elsewhere (the API's
   * DELETE, destroy, a claim released with `recycle: replace`) or going with its image gets the
   * event now (recorder.announceRemoval, once per instance). Then, if anything was announced,
   * the pass waits `retireDrainMs` once, however many go (all are marked before the one wait),
   * so that routers fed by the stream take them out of rotation and clients that just listed
   * them finish their requests before they stop. The removals to carry out: a victim claimed (or
   * marked by someone else) since this pass read it is left to the next pass.
   */
  async function announceRemovals(
    removals: readonly RemoveInstance[],
    failures: unknown[],
  ): Promise<RemoveInstance[]> {
    let announced = false;
    const ready: RemoveInstance[] = [];
    await pMap(
      removals,
      async (action) => {
        try {
          const instance = find(action.instanceId);
          if (action.mark) {
            const marked = await recorder.markForDeletion(instance, action.reason);
            if (marked === undefined) {
              // Claimed since this pass read it: it stays, the next pass counts it as claimed.
              // Marked by someone else meanwhile: the next pass announces and removes it.
              log.info({ instanceId: action.instanceId }, "scale-down victim changed; kept");
              return;
            }
            if (marked.container_id !== null) announced = true;
          } else if (
            action.containerId !== null &&
            (await recorder.announceRemoval(instance, action.containerId, action.reason))
          ) {
            announced = true;
          }
          ready.push(action);
        } catch (error) {
          log.warn({ action: action.kind, err: error }, "action failed");
          failures.push(error);
        }
      },
      { concurrency: settings.actionConcurrency },
    );
    if (announced) await delay(retireDrainMs);
    return ready;
  }

  /** Removals first (they free names, ports and max_instances room), then the rest, then rollouts. */
  async function execute(
    actions: readonly Action[],
    current: readonly InstanceRecord[],
    containers: readonly ContainerSnapshot[],
    desiredHash: string | undefined,
    runnability: Runnability,
  ): Promise<unknown[]> {
    for (const instance of current) recorder.track(instance);
    const phases: Array<Array<Action["kind"]>> = [
      ["removeStray", "removeInstance"],
      ["addInstances", "createContainer", "startContainer", "stopContainer", "restartContainer"],
      ["replaceContainer"],
      ["finishImageDeletion"],
    ];
    const failures: unknown[] = [];
    const removals = await announceRemovals(
      actions.filter((action): action is RemoveInstance => action.kind === "removeInstance"),
      failures,
    );
    for (const kinds of phases) {
      const batch = actions.filter(
        (action) =>
          kinds.includes(action.kind) &&
          (action.kind !== "removeInstance" || removals.includes(action)),
      );
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

  return { execute };
}
