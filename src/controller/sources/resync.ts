import type { ContainerRuntime, ContainerSnapshot } from "../../docker/runtime.ts";
import { imageIdOf } from "../../domain/labels.ts";
import type { InstanceRecord } from "../../reconcilers/image/model.ts";
import { needsReconcile } from "../../reconcilers/image/needs-reconcile.ts";
import { hasOurName } from "../../reconcilers/image/ownership.ts";
import type { Store } from "../../store/database.ts";

export type ResyncSource = {
  readonly store: Pick<Store, "images" | "instances">;
  readonly runtime: ContainerRuntime;
  readonly orchestratorId: string;
  readonly builtImagePrefix: string;
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

/** Appends `value` to the list under `key`. */
function push<Key, Value>(map: Map<Key, Value[]>, key: Key, value: Value): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * One full pass over everything: one Docker list, then the images in pages with their
 * instances (two queries per page), each image judged by the reconciler's `needsReconcile`.
 * Returns only the keys that need work, so a resync of a converged fleet issues no Docker
 * writes and a constant number of queries per page.
 */
export async function findKeysNeedingWork(source: ResyncSource): Promise<ResyncResult> {
  const batchSize = source.batchSize ?? 500;
  const now = new Date();
  const containers = await source.runtime.listManaged(source.orchestratorId);
  const byImage = new Map<number, ContainerSnapshot[]>();
  const unknownImage: ContainerSnapshot[] = [];
  for (const container of containers) {
    // Labels are claims: a container is ours only with a name we give (reconcilers/image/ownership.ts).
    if (!hasOurName(container, source.orchestratorId)) continue;
    const imageId = imageIdOf(container.labels);
    if (imageId === undefined) unknownImage.push(container);
    else push(byImage, imageId, container);
  }
  const keys: number[] = [];
  const seen = new Set<number>();
  let queries = 0;
  let images = 0;
  let afterId = 0;
  for (;;) {
    const page = await source.store.images.listAfter(afterId, batchSize);
    queries += 1;
    if (page.length === 0) break;
    const instances = await source.store.instances.listOfImages(page.map((image) => image.id));
    queries += 1;
    const recordsByImage = new Map<number, InstanceRecord[]>();
    for (const instance of instances) push(recordsByImage, instance.image_id, instance);
    for (const image of page) {
      seen.add(image.id);
      const snapshot = {
        image,
        records: recordsByImage.get(image.id) ?? [],
        containers: byImage.get(image.id) ?? [],
        now,
      };
      if (needsReconcile(snapshot, source.orchestratorId, source.builtImagePrefix))
        keys.push(image.id);
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
