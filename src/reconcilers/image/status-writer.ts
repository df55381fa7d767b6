import type { ContainerSnapshot } from "../../docker/runtime.ts";
import type { Logger } from "../../logger.ts";
import type { Store } from "../../store/database.ts";
import { assignContainers } from "./assign.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { imageConditions, type Runnability, sameConditions } from "./status.ts";

/** Writes an image's conditions and observed generation (and a reference's status) after a pass. */
export async function writeStatus(
  store: Store,
  image: ImageRecord,
  log: Logger,
  now: Date,
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
    now,
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
}
