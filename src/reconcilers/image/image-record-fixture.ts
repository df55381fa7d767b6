import type { ContainerOptions } from "../../domain/container-options.ts";
import type { ImageRecord } from "./model.ts";

const now = new Date("2026-01-01T00:00:00Z");

/** An image row for unit tests: a ready reference image `shop` of user 3, with these options. */
export function imageRecordFixture(
  options: Partial<ContainerOptions> = {},
  overrides: Partial<ImageRecord> = {},
): ImageRecord {
  return {
    id: 7,
    user_id: 3,
    name: "shop",
    source_type: "reference",
    image_reference: "shop:v1",
    tag: "v1",
    status: "ready",
    app_hostname: null,
    container_port: 8080,
    min_instances: 0,
    max_instances: 1,
    desired_instances: 1,
    cpu_limit: "1",
    nano_cpus: 1e9,
    memory_limit: "256m",
    memory_bytes: 268435456,
    env: { LOG_LEVEL: "info" },
    health_check: null,
    generation: 1,
    observed_generation: 0,
    resource_version: 1,
    conditions: [],
    docker_image_id: "sha256:x",
    source_path: null,
    source_digest: null,
    build_logs: null,
    build_requested_at: null,
    build_started_at: null,
    build_finished_at: null,
    apply_set: null,
    container_options: options,
    build_token: "0123456789abcdef0123456789abcdef",
    deletion_requested_at: null,
    delete_volumes: false,
    registry_reference: null,
    rollout_paused: false,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}
