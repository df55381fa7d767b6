import type { InstanceOfImage } from "../desired/image-service.ts";
import { specOfRecord } from "../desired/spec-diff.ts";
import { publishedPorts } from "../domain/events.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import type { EventRow } from "../store/events-repository.ts";
import type { ImageRecord, InstanceRecord } from "../store/records.ts";

/**
 * An image as the API shows it (snake_case, the contract's fields). `buildAccepted`: the answer
 * to an upload or rebuild, whose build is requested: `building` as documented, where the row
 * says `pending` until a builder takes it.
 */
export function presentImage(
  image: ImageRecord,
  options: { readonly withBuildLogs?: boolean; readonly buildAccepted?: boolean } = {},
) {
  const { image: _reference, ...spec } = specOfRecord(image);
  return {
    id: image.id,
    user_id: String(image.user_id),
    name: image.name,
    source_type: image.source_type,
    image: image.image_reference,
    status: options.buildAccepted && image.status === "pending" ? "building" : image.status,
    ...spec,
    generation: image.generation,
    observed_generation: image.observed_generation,
    resource_version: image.resource_version,
    conditions: image.conditions,
    docker_image_id: image.docker_image_id,
    registry_reference: image.registry_reference,
    source_path: image.source_path,
    source_digest: image.source_digest,
    rollout_paused: image.rollout_paused,
    ...(options.withBuildLogs ? { build_logs: image.build_logs } : {}),
    apply_set: image.apply_set,
    created_at: iso(image.created_at),
    updated_at: iso(image.updated_at),
  };
}

/** An instance: desired and observed state, where it answers, and what went wrong last. */
export function presentInstance(
  instance: InstanceRecord,
  context: { readonly host: string; readonly containerPort?: number },
) {
  return {
    id: instance.id,
    image_id: instance.image_id,
    user_id: String(instance.user_id),
    name: instance.container_name,
    desired_state: instance.desired_state,
    observed_state: instance.observed_state,
    marked_for_deletion: instance.deletion_requested_at !== null,
    container_id: instance.container_id,
    host: instance.host ?? context.host,
    host_port: instance.host_port,
    container_port: context.containerPort ?? null,
    ports: publishedPorts(instance.host_ports),
    health: instance.health,
    restart_count: instance.restart_count,
    consecutive_failures: instance.consecutive_failures,
    next_restart_at: iso(instance.next_restart_at),
    last_exit_code: instance.last_exit_code,
    last_error: instance.last_error,
    oom_killed: instance.oom_killed,
    last_logs: instance.last_logs,
    probe: instance.last_probe,
    started_at: iso(instance.started_at),
    stopped_at: iso(instance.stopped_at),
    restart_requested_at: iso(instance.restart_requested_at),
    claimed_by: instance.claim_key,
    claimed_at: iso(instance.claimed_at),
    claim_id: instance.claim_id,
    recycle_requested_at: iso(instance.recycle_requested_at),
    created_at: iso(instance.created_at),
  };
}

/** An instance with its image's primary port. */
export function presentInstanceOf({ instance, image }: InstanceOfImage, host: string) {
  return presentInstance(instance, {
    host,
    ...(image === undefined ? {} : { containerPort: image.container_port }),
  });
}

export function presentEvent(event: EventRow) {
  return {
    seq: event.seq,
    id: event.id,
    type: event.type,
    subject: event.subject,
    time: event.time.toISOString(),
    image_id: event.image_id,
    instance_id: event.instance_id,
    user_id: String(event.user_id),
    data: event.data,
    published_at: iso(event.published_at),
    publish_error: event.publish_error,
    failed_at: iso(event.failed_at),
  };
}
