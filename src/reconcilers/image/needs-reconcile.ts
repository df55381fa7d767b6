import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { withOptionDefaults } from "../../domain/container-options.ts";
import { runnableReference } from "../../domain/names.ts";
import { specHash } from "../../domain/spec-hash.ts";
import { assignContainers } from "./assign.ts";
import { containerSpec, namesSecrets } from "./container-spec.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { observeInstance } from "./observe.ts";
import { isOwnedContainer } from "./ownership.ts";
import { planImage } from "./plan.ts";

/** One consistent read of an image: its row, its instance rows and its containers. */
export type ImageSnapshot = {
  readonly image: ImageRecord;
  readonly records: readonly InstanceRecord[];
  readonly containers: readonly ContainerSnapshot[];
  readonly now: Date;
};

/**
 * Whether an image needs a reconcile pass, judged from a snapshot without any Docker call: not
 * converged, not observed, or status that does not match what runs. Pure.
 */
export function needsReconcile(
  snapshot: ImageSnapshot,
  orchestratorId: string,
  builtImagePrefix: string,
): boolean {
  const { image, records, now } = snapshot;
  const containers = snapshot.containers.filter((container) =>
    isOwnedContainer(container, orchestratorId, image.name),
  );
  if (image.status !== "ready" || image.observed_generation !== image.generation) return true;
  if (image.conditions.find((condition) => condition.type === "Ready")?.status !== "True")
    return true;
  // Its hash includes its secrets' versions, which only a pass reads: a pass says (no Docker
  // write unless they changed; a changed value also notifies the image at once).
  if (namesSecrets(image)) return true;
  // A claim past its expiry is the controller's to release.
  if (records.some((record) => record.claim_expires_at !== null && record.claim_expires_at <= now))
    return true;
  const reference = runnableReference(image, builtImagePrefix);
  if (reference === "" || image.docker_image_id === null) return true;
  const desiredHash = specHash(
    containerSpec(image, { ok: true, reference, dockerImageId: image.docker_image_id }),
  );
  if (planImage({ image, records, containers, desiredHash, now }).actions.length > 0) return true;
  const assignment = assignContainers(records, containers);
  return records.some((record) => {
    const observation = observeInstance(record, assignment.byInstance.get(record.id), {
      now,
      containerPort: image.container_port,
      restartPolicy: withOptionDefaults(image.container_options).restart_policy,
    });
    return observation.events.length > 0 || Object.keys(observation.patch).length > 0;
  });
}
