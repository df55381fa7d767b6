import { containerOptionDefaults } from "../domain/container-options.ts";
import { containerSpecFields, type ImageSpec, specFieldNames } from "../domain/image-spec.ts";
import { canonicalJson } from "../domain/spec-hash.ts";
import type { ImageRecord } from "../store/records.ts";

/** The desired state an image row holds, in the shape users write it. */
export function specOfRecord(image: ImageRecord): ImageSpec {
  return {
    tag: image.tag,
    image: image.source_type === "reference" ? (image.image_reference ?? undefined) : undefined,
    app_hostname: image.app_hostname,
    container_port: image.container_port,
    min_instances: image.min_instances,
    max_instances: image.max_instances,
    desired_instances: image.desired_instances,
    cpu_limit: image.cpu_limit,
    memory_limit: image.memory_limit,
    env: image.env,
    health_check: image.health_check,
    ...containerOptionDefaults,
    ...image.container_options,
  };
}

export type SpecChange = {
  readonly field: keyof ImageSpec;
  readonly from: unknown;
  readonly to: unknown;
};

/** Field-by-field differences between two canonical specs (only fields present in `next`). */
export function diffSpec(current: ImageSpec, next: Partial<ImageSpec>): SpecChange[] {
  const changes: SpecChange[] = [];
  for (const field of specFieldNames) {
    if (!(field in next)) continue;
    const to = next[field];
    const from = current[field];
    if (canonicalJson(from ?? null) !== canonicalJson(to ?? null))
      changes.push({ field, from: from ?? null, to: to ?? null });
  }
  return changes;
}

/** Whether a change replaces running containers (versus only scaling or relabelling). */
export function replacesContainers(changes: readonly SpecChange[]): boolean {
  return changes.some((change) =>
    (containerSpecFields as readonly string[]).includes(change.field),
  );
}
