import type { ContainerRuntime, ContainerSnapshot } from "../docker/runtime.ts";
import { imageIdOf } from "../domain/labels.ts";
import { specHash } from "../domain/spec-hash.ts";
import { assignContainers } from "../reconcilers/image/assign.ts";
import type { ImageRecord, InstanceRecord } from "../reconcilers/image/model.ts";
import { observeInstance } from "../reconcilers/image/observe.ts";
import { planImage } from "../reconcilers/image/plan.ts";
import { containerSpec } from "../reconcilers/image/reconciler.ts";
import type { Db } from "../store/database.ts";
import { listImagesAfter } from "../store/images-repository.ts";
import { listInstancesOfImages } from "../store/instances-repository.ts";

export type ResyncSource = {
  readonly db: Db;
  readonly runtime: ContainerRuntime;
  readonly orchestratorId: string;
  /** The reference an image's containers run, as the resolver would say, without Docker calls. */
  readonly referenceOf: (image: ImageRecord) => string | undefined;
  readonly batchSize?: number;
};

export type ResyncResult = {
  readonly keys: number[];
  /** Containers with our managed-by label but no valid image id: nobody's, to be removed. */
  readonly unowned: string[];
  readonly images: number;
  readonly containers: number;
  readonly queries: number;
};

/**
 * Whether an image needs a reconcile pass, judged from one consistent read of the database and
 * Docker: not converged, not observed, or status that does not match what runs. Pure.
 */
export function needsReconcile(
  image: ImageRecord,
  records: readonly InstanceRecord[],
  containers: readonly ContainerSnapshot[],
  reference: string | undefined,
  now: Date,
): boolean {
  if (image.status !== "ready" || image.observed_generation !== image.generation) return true;
  if (image.conditions.find((condition) => condition.type === "Ready")?.status !== "True")
    return true;
  const desiredHash =
    reference !== undefined && image.docker_image_id !== null
      ? specHash(
          containerSpec(image, { ok: true, reference, dockerImageId: image.docker_image_id }),
        )
      : undefined;
  if (desiredHash === undefined) return true;
  if (planImage({ image, records, containers, desiredHash, now }).actions.length > 0) return true;
  const assignment = assignContainers(records, containers);
  return records.some((record) => {
    const observation = observeInstance(record, assignment.byInstance.get(record.id), {
      now,
      containerPort: image.container_port,
    });
    return observation.events.length > 0 || Object.keys(observation.patch).length > 0;
  });
}

/**
 * One full pass over everything: one Docker list, then the images in pages with their
 * instances (two queries per page). Returns only the keys that need work, so a resync of a
 * converged fleet issues no Docker writes and a constant number of queries per page.
 */
export async function findKeysNeedingWork(source: ResyncSource): Promise<ResyncResult> {
  const batchSize = source.batchSize ?? 500;
  const now = new Date();
  const containers = await source.runtime.listManaged(source.orchestratorId);
  const byImage = new Map<number, ContainerSnapshot[]>();
  const unknownImage: ContainerSnapshot[] = [];
  for (const container of containers) {
    const imageId = imageIdOf(container.labels);
    if (imageId === undefined) {
      unknownImage.push(container);
      continue;
    }
    byImage.set(imageId, [...(byImage.get(imageId) ?? []), container]);
  }
  const keys: number[] = [];
  const seen = new Set<number>();
  let queries = 0;
  let images = 0;
  let afterId = 0;
  for (;;) {
    const page = await listImagesAfter(source.db, afterId, batchSize);
    queries += 1;
    if (page.length === 0) break;
    const instances = await listInstancesOfImages(
      source.db,
      page.map((image) => image.id),
    );
    queries += 1;
    const recordsByImage = new Map<number, InstanceRecord[]>();
    for (const instance of instances) {
      recordsByImage.set(instance.image_id, [
        ...(recordsByImage.get(instance.image_id) ?? []),
        instance,
      ]);
    }
    for (const image of page) {
      seen.add(image.id);
      const records = recordsByImage.get(image.id) ?? [];
      const own = byImage.get(image.id) ?? [];
      if (needsReconcile(image, records, own, source.referenceOf(image), now)) keys.push(image.id);
    }
    images += page.length;
    afterId = page[page.length - 1]?.id ?? afterId;
    if (page.length < batchSize) break;
  }
  // Containers of images that no longer exist: their key removes them.
  for (const imageId of byImage.keys()) if (!seen.has(imageId)) keys.push(imageId);
  return {
    keys,
    unowned: unknownImage.map((container) => container.id),
    images,
    containers: containers.length,
    queries,
  };
}
