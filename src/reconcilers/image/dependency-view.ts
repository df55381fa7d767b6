import { withOptionDefaults } from "../../domain/container-options.ts";
import {
  checkDependencies,
  type DependencyCheck,
  type DependencyState,
  dependencyFacingState,
  noDependencies,
  relatedImages,
} from "../../domain/dependencies.ts";
import type { Store } from "../../store/database.ts";
import type { Condition } from "../../store/schema.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import type { DependencyWait } from "./plan.ts";

/** What depends_on means for one pass of an image. */
export type DependencyView = {
  readonly check: DependencyCheck;
  readonly waitFor: DependencyWait;
};

const nothingToWaitFor: DependencyView = {
  check: noDependencies,
  waitFor: { dependencies: false, dependents: false },
};

function condition(conditions: readonly Condition[], type: Condition["type"]) {
  return conditions.find((candidate) => candidate.type === type);
}

/** An image as its dependents see it, from its conditions and instance rows. Pure. */
export function dependencyStateOf(
  image: Pick<ImageRecord, "status" | "generation" | "observed_generation">,
  conditions: readonly Condition[],
  records: readonly InstanceRecord[],
): DependencyState {
  const degraded = condition(conditions, "Degraded");
  return {
    deleting: image.status === "deleting",
    // Ready for the spec it has now, not for one it had before a change.
    ready:
      condition(conditions, "Ready")?.status === "True" &&
      image.observed_generation === image.generation,
    started: records.some(
      (record) => record.observed_state === "running" && record.deletion_requested_at === null,
    ),
    degraded:
      degraded?.status === "True"
        ? { reason: degraded.reason, message: degraded.message }
        : undefined,
  };
}

/** What the image's dependents would see change between two moments of one pass. Pure. */
export function facingStateOf(
  image: ImageRecord,
  conditions: readonly Condition[],
  records: readonly InstanceRecord[],
): string {
  return dependencyFacingState(dependencyStateOf(image, conditions, records));
}

/**
 * Reads what an image's depends_on needs for a pass: for an image that runs, the state of each
 * of its dependencies; for one being deleted, whether images depending on it are being deleted
 * and still there (they go first). Images without either cost no query.
 */
export async function readDependencyView(
  store: Pick<Store, "images" | "instances">,
  image: ImageRecord,
): Promise<DependencyView> {
  const { depends_on: dependsOn } = withOptionDefaults(image.container_options);
  if (image.status === "deleting") {
    const tenant = await store.images.list(image.user_id);
    const dependentsLeaving = tenant.some(
      (other) =>
        other.status === "deleting" &&
        withOptionDefaults(other.container_options).depends_on.some(
          (dependency) => dependency.name === image.name,
        ),
    );
    return { ...nothingToWaitFor, waitFor: { dependencies: false, dependents: dependentsLeaving } };
  }
  if (dependsOn.length === 0) return nothingToWaitFor;
  const names = new Set(dependsOn.map((dependency) => dependency.name));
  const dependencies = (await store.images.list(image.user_id)).filter((other) =>
    names.has(other.name),
  );
  const instances = await store.instances.listOfImages(dependencies.map((other) => other.id));
  const states = new Map(
    dependencies.map((other) => [
      other.name,
      dependencyStateOf(
        other,
        other.conditions,
        instances.filter((instance) => instance.image_id === other.id),
      ),
    ]),
  );
  const check = checkDependencies(dependsOn, states);
  return { check, waitFor: { dependencies: !check.met, dependents: false } };
}

/** The ids of the tenant's images whose pass may now decide differently (see relatedImages). */
export async function relatedImageIds(
  store: Pick<Store, "images">,
  image: ImageRecord,
): Promise<number[]> {
  const tenant = (await store.images.list(image.user_id)).map((other) => ({
    id: other.id,
    name: other.name,
    depends_on: withOptionDefaults(other.container_options).depends_on,
  }));
  const node = {
    name: image.name,
    depends_on: withOptionDefaults(image.container_options).depends_on,
  };
  return relatedImages(node, tenant).map((other) => other.id);
}
