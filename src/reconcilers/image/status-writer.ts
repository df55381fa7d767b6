import type { ContainerSnapshot } from "../../docker/runtime.ts";
import type { DependencyCheck } from "../../domain/dependencies.ts";
import type { Logger } from "../../logger.ts";
import type { Store } from "../../store/database.ts";
import type { RolloutWrite } from "../../store/rollouts-repository.ts";
import type { Condition } from "../../store/schema.ts";
import { assignContainers } from "./assign.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { rolloutProgressing } from "./rollout-progress.ts";
import { imageConditions, type Runnability, sameConditions } from "./status.ts";

/** What one pass saw at its end: the status is computed from it. */
export type PassOutcome = {
  readonly now: Date;
  readonly records: readonly InstanceRecord[];
  readonly containers: readonly ContainerSnapshot[];
  readonly runnability: Runnability;
  readonly desiredHash: string | undefined;
  readonly dependencies: DependencyCheck;
  /** RUNTIME=swarm: why each wanted task no node takes waits (Swarm's words). */
  readonly unschedulable?: readonly string[];
  /** Where the newest revision's rollout stands: Progressing tells it. */
  readonly rollout?: RolloutWrite | undefined;
};

/**
 * Writes an image's conditions and observed generation (and a reference's status) after a pass,
 * and returns the conditions (the image's own when it is being deleted: those are not written).
 */
export async function writeStatus(
  store: Store,
  image: ImageRecord,
  log: Logger,
  pass: PassOutcome,
): Promise<readonly Condition[]> {
  if (image.status === "deleting") return image.conditions;
  const { runnability } = pass;
  // The revision of this generation runs what was resolved, if it did not know yet.
  if (runnability.ok) {
    await store.revisions.recordResolvedImage(
      image.id,
      image.generation,
      runnability.dockerImageId,
    );
  }
  const assignment = assignContainers(pass.records, pass.containers);
  const conditions = imageConditions({
    image,
    records: pass.records,
    containerOf: (instance) => assignment.byInstance.get(instance.id),
    runnability,
    desiredHash: pass.desiredHash,
    now: pass.now,
    dependencies: pass.dependencies,
    ...(pass.unschedulable === undefined ? {} : { unschedulable: pass.unschedulable }),
  }).map((condition) => {
    if (condition.type !== "Progressing") return condition;
    const told = rolloutProgressing(
      pass.rollout,
      { ...condition, type: "Progressing", status: condition.status === "True" ? "True" : "False" },
      image.rollout_paused,
    );
    if (told.reason === condition.reason) return condition;
    const previous = image.conditions.find((existing) => existing.type === "Progressing");
    return {
      ...told,
      last_transition_time:
        previous !== undefined && previous.status === told.status
          ? previous.last_transition_time
          : pass.now.toISOString(),
    };
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
    return conditions;
  }
  await store.transaction((tx) =>
    tx.images.writeObservedStatus(image.id, {
      conditions,
      observedGeneration: image.generation,
      ...(reference ? { resolved: { status, dockerImageId } } : {}),
    }),
  );
  const wasReady =
    image.conditions.find((condition) => condition.type === "Ready")?.status === "True";
  const isReady = conditions.find((condition) => condition.type === "Ready")?.status === "True";
  if (wasReady !== isReady) log.info({ ready: isReady }, "image readiness changed");
  return conditions;
}
