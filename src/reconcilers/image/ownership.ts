import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { labelKeys } from "../../domain/labels.ts";
import { containerName } from "../../domain/names.ts";

/**
 * Labels are claims anyone can make (a Dockerfile's LABEL is copied onto every container made
 * from its image, the classic builder's step containers included); a name is not: only this
 * controller names containers `{orchestratorId}-{image name}-{instance id}`, and the engine
 * keeps names unique. So a labelled container is ours only when its name is the one its labels
 * imply. Everything else is left alone: never adopted, removed or evented. Pure.
 */
export function isOwnedContainer(
  container: Pick<ContainerSnapshot, "name" | "labels">,
  orchestratorId: string,
  imageName: string,
): boolean {
  const instanceId = container.labels[labelKeys.instanceId];
  return (
    instanceId !== undefined &&
    /^[0-9a-z]{1,64}$/.test(instanceId) &&
    container.name === containerName(orchestratorId, imageName, instanceId)
  );
}

const imageNameShape = "[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?";

/**
 * Whether a container has the name of one of ours, when there is no image row to say which
 * image name (the image was deleted, or the controller crashed before the row was written).
 */
export function hasOurName(
  container: Pick<ContainerSnapshot, "name" | "labels">,
  orchestratorId: string,
): boolean {
  const instanceId = container.labels[labelKeys.instanceId];
  if (instanceId === undefined || !/^[0-9a-z]{1,64}$/.test(instanceId)) return false;
  const prefix = `${orchestratorId}-`;
  const suffix = `-${instanceId}`;
  if (!container.name.startsWith(prefix) || !container.name.endsWith(suffix)) return false;
  const imageName = container.name.slice(prefix.length, container.name.length - suffix.length);
  return new RegExp(`^${imageNameShape}$`).test(imageName);
}
