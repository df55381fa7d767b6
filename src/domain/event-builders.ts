import {
  type ContainerEventData,
  type ContainerTransition,
  type ImageEventData,
  type NewEvent,
  type PoolEventData,
  publishedPorts,
} from "./events.ts";
import { labelKeys } from "./labels.ts";
import { isoOrNull } from "./time.ts";

/** What events say about an image (an image row has all of it). */
export type EventImage = {
  readonly id: number;
  readonly user_id: number;
  readonly name: string;
  readonly status: string;
  readonly app_hostname: string | null;
  readonly container_port: number;
  readonly cpu_limit: string;
  readonly memory_limit: string;
};

/** What events say about an instance (an instance row has all of it). */
export type EventInstance = {
  readonly id: string;
  readonly container_name: string;
  readonly host_port: number | null;
  readonly host_ports: Readonly<Record<string, number>>;
  readonly started_at: Date | null;
  readonly stopped_at: Date | null;
};

export type EventContext = {
  /** Host address consumers reach published ports on. */
  readonly advertiseHost: string;
  /** The reference the image's containers run (see runnableReference). */
  readonly reference: string;
  /** The Swarm node a task runs on (RUNTIME=swarm only). */
  readonly node?: string | undefined;
};

/**
 * The fields every container event shares, one definition each: where it answers (host,
 * host_port), who pays (user_id, limits), what it runs (image).
 */
function containerData(
  image: EventImage,
  context: EventContext,
): Pick<
  ContainerEventData,
  "image" | "app_hostname" | "host" | "container_port" | "cpu_limit" | "memory_limit"
> {
  return {
    image: context.reference,
    app_hostname: image.app_hostname,
    host: context.advertiseHost,
    container_port: image.container_port,
    cpu_limit: image.cpu_limit,
    memory_limit: image.memory_limit,
  };
}

/** A container event with everything discovery and billing need, from the record after the change. */
export function containerEvent(
  image: EventImage,
  instance: EventInstance,
  containerId: string | null,
  transition: ContainerTransition,
  context: EventContext,
): NewEvent {
  const data: ContainerEventData = {
    container_id: containerId,
    name: instance.container_name,
    instance_id: instance.id,
    image_id: image.id,
    user_id: String(image.user_id),
    ...containerData(image, context),
    host_port: instance.host_port,
    ports: publishedPorts(instance.host_ports),
    started_at: isoOrNull(instance.started_at),
    stopped_at:
      transition.type === "container.created" || transition.type === "container.started"
        ? null
        : isoOrNull(instance.stopped_at),
    reason: transition.reason,
    ...(transition.exitCode === undefined ? {} : { exit_code: transition.exitCode }),
    ...(transition.error === undefined ? {} : { error: transition.error }),
    ...(context.node === undefined ? {} : { node: context.node }),
  };
  return {
    type: transition.type,
    imageId: image.id,
    userId: image.user_id,
    instanceId: instance.id,
    data,
  };
}

/**
 * A `container.removed` for a container no record owns (orphan or duplicate) of `image`: the
 * image and user come from its row; the instance id is the one in the container's name.
 */
export function strayRemovedEvent(
  image: EventImage,
  container: {
    readonly id: string;
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
  },
  reason: string,
  context: EventContext & { readonly now: Date },
): NewEvent {
  const imageId = image.id;
  const userId = image.user_id;
  const instanceId = container.labels[labelKeys.instanceId] ?? null;
  const data: ContainerEventData = {
    container_id: container.id,
    name: container.name,
    instance_id: instanceId ?? "",
    image_id: imageId,
    user_id: String(userId),
    ...containerData(image, context),
    host_port: null,
    started_at: null,
    stopped_at: context.now.toISOString(),
    reason,
  };
  return { type: "container.removed", imageId, userId, instanceId, data };
}

export type ImageEventType =
  | "image.building"
  | "image.ready"
  | "image.build_failed"
  | "image.deleted"
  | "image.scaled"
  | "image.rollout_started"
  | "image.rollout_completed"
  | "image.rollout_failed"
  | "image.rolled_back";

/** An event about an image as a whole; `reference` is what its containers run. */
export function imageEvent(
  type: ImageEventType,
  image: EventImage,
  reference: string,
  reason: string,
  extra: Partial<
    Pick<
      ImageEventData,
      | "message"
      | "desired_instances"
      | "previous_desired_instances"
      | "registry_reference"
      | "metric"
      | "value"
      | "target"
      | "from"
      | "to"
      | "from_revision"
      | "to_revision"
      | "restored_revision"
    >
  > = {},
): NewEvent {
  const data: ImageEventData = {
    image_id: image.id,
    name: image.name,
    image: reference,
    user_id: String(image.user_id),
    app_hostname: image.app_hostname,
    status: image.status,
    reason,
    ...extra,
  };
  return { type, imageId: image.id, userId: image.user_id, instanceId: null, data };
}

/** What a pool event says about the claim: the instance row as it was while claimed. */
export type EventClaim = EventInstance & {
  readonly container_id: string | null;
  readonly claim_id: string;
  readonly claim_key: string;
  readonly claimed_at: Date | null;
  readonly claim_expires_at: Date | null;
};

/**
 * `pool.claimed` (reason `claimed`, or `created` when the instance was made for the claim),
 * `pool.released` (by the API, reason `released` or `destroyed`), `pool.expired` (by the
 * controller, reason `expired`). Kafka key = image id, like every event of the image.
 */
export function poolEvent(
  type: "pool.claimed" | "pool.released" | "pool.expired",
  image: EventImage,
  claim: EventClaim,
  reason: string,
  context: EventContext,
): NewEvent {
  const data: PoolEventData = {
    claim_id: claim.claim_id,
    key: claim.claim_key,
    instance_id: claim.id,
    container_id: claim.container_id,
    name: claim.container_name,
    image_id: image.id,
    image: context.reference,
    user_id: String(image.user_id),
    host: context.advertiseHost,
    host_port: claim.host_port,
    container_port: image.container_port,
    claimed_at: isoOrNull(claim.claimed_at),
    expires_at: isoOrNull(claim.claim_expires_at),
    reason,
  };
  return { type, imageId: image.id, userId: image.user_id, instanceId: claim.id, data };
}
