import type { ContainerSnapshot } from "../../docker/runtime.ts";
import type { ContainerEventData, ImageEventData, NewEvent } from "../../domain/events.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import type { ObservedEvent } from "./observe.ts";

export type EventContext = {
  /** Host address consumers reach published ports on. */
  readonly advertiseHost: string;
  /** The reference containers of this image run. */
  readonly imageReference: string;
};

export function imageReferenceOf(image: ImageRecord): string {
  return image.image_reference ?? `${image.name}:${image.tag}`;
}

const iso = (date: Date | null | undefined) => (date ? date.toISOString() : null);

/** A container event with everything discovery and billing need, from the record after the change. */
export function containerEvent(
  image: ImageRecord,
  record: InstanceRecord,
  containerId: string | null,
  observed: ObservedEvent,
  context: EventContext,
): NewEvent {
  const data: ContainerEventData = {
    container_id: containerId,
    name: record.container_name,
    instance_id: record.id,
    image_id: image.id,
    image: context.imageReference,
    user_id: String(image.user_id),
    app_hostname: image.app_hostname,
    host: context.advertiseHost,
    host_port: record.host_port,
    container_port: image.container_port,
    cpu_limit: image.cpu_limit,
    memory_limit: image.memory_limit,
    started_at: iso(record.started_at),
    stopped_at:
      observed.type === "container.created" || observed.type === "container.started"
        ? null
        : iso(record.stopped_at),
    reason: observed.reason,
    ...(observed.exitCode === undefined ? {} : { exit_code: observed.exitCode }),
    ...(observed.error === undefined ? {} : { error: observed.error }),
  };
  return {
    type: observed.type,
    imageId: image.id,
    userId: image.user_id,
    instanceId: record.id,
    data,
  };
}

/** A `container.removed` for a container no record owns (orphan or duplicate). */
export function strayRemovedEvent(
  image: ImageRecord | undefined,
  container: ContainerSnapshot,
  reason: string,
  context: EventContext & { readonly now: Date },
): NewEvent | undefined {
  const imageId = Number(container.labels[labelKeys.imageId]);
  const userId = Number(container.labels[labelKeys.owner] ?? image?.user_id);
  if (!Number.isInteger(imageId) || !Number.isInteger(userId)) return undefined;
  const instanceId = container.labels[labelKeys.instanceId] ?? null;
  const data: ContainerEventData = {
    container_id: container.id,
    name: container.name,
    instance_id: instanceId ?? "",
    image_id: imageId,
    image: context.imageReference,
    user_id: String(userId),
    app_hostname: image?.app_hostname ?? null,
    host: context.advertiseHost,
    host_port: null,
    container_port: image?.container_port ?? 0,
    cpu_limit: image?.cpu_limit ?? "",
    memory_limit: image?.memory_limit ?? "",
    started_at: null,
    stopped_at: context.now.toISOString(),
    reason,
  };
  return { type: "container.removed", imageId, userId, instanceId, data };
}

export function imageEvent(
  type: "image.building" | "image.ready" | "image.build_failed" | "image.deleted" | "image.scaled",
  image: ImageRecord,
  reason: string,
  extra: Partial<
    Pick<ImageEventData, "message" | "desired_instances" | "previous_desired_instances">
  > = {},
): NewEvent {
  const data: ImageEventData = {
    image_id: image.id,
    name: image.name,
    image: image.image_reference,
    user_id: String(image.user_id),
    app_hostname: image.app_hostname,
    status: image.status,
    reason,
    ...extra,
  };
  return { type, imageId: image.id, userId: image.user_id, instanceId: null, data };
}
