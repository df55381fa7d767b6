import { describe, expect, it } from "vitest";
import { engineServiceSpec } from "../../docker/swarm.ts";
import type { ContainerOptions } from "../../domain/container-options.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { ImageRecord } from "../image/model.ts";
import { serviceRequest } from "./service-request.ts";

const now = new Date("2026-01-01T00:00:00Z");
const settings = { orchestratorId: "orch", stopTimeoutSeconds: 10, pidsLimit: 512 };

function image(
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
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

const request = (record: ImageRecord) =>
  serviceRequest({
    image: record,
    reference: "shop:v1",
    env: { LOG_LEVEL: "info" },
    specHash: "abc",
    replicas: 3,
    settings,
  });

describe("serviceRequest", () => {
  it("names the service by image id and carries the contract's labels, limits and replicas", () => {
    const made = request(image({ labels: { team: "a", [labelKeys.managedBy]: "forged" } }));
    expect(made).toMatchObject({
      name: "orch-i7",
      replicas: 3,
      nanoCpus: 1e9,
      memoryBytes: 268435456,
      pidsLimit: 512,
      aliases: ["shop"],
      labels: {
        team: "a",
        [labelKeys.managedBy]: "orch",
        [labelKeys.imageId]: "7",
        [labelKeys.owner]: "3",
        [labelKeys.specHash]: "abc",
      },
    });
    expect(made.labels[labelKeys.instanceId]).toBeUndefined();
  });

  it("puts the service on the tenant's overlay network and each declared one, never a bridge's name", () => {
    expect(
      request(image({ networks: ["backend"] })).networks.map((network) => network.name),
    ).toEqual(["orch-u3-swarm", "orch-u3-backend-swarm"]);
  });

  it("maps the restart policy onto Swarm's", () => {
    expect(request(image()).restart).toEqual({ condition: "any", maxAttempts: 0 });
    expect(request(image({ restart_policy: { name: "never" } })).restart.condition).toBe("none");
    expect(
      request(image({ restart_policy: { name: "on-failure", max_retries: 4 } })).restart,
    ).toEqual({ condition: "on-failure", maxAttempts: 4 });
  });
});

describe("engineServiceSpec", () => {
  it("publishes the container port in host mode (no routing mesh) and sets replicas", () => {
    const spec = engineServiceSpec(request(image()));
    expect(spec.EndpointSpec.Ports).toEqual([
      { Protocol: "tcp", TargetPort: 8080, PublishMode: "host" },
    ]);
    expect(spec.Mode.Replicated.Replicas).toBe(3);
    expect(spec.TaskTemplate.ContainerSpec.CapabilityDrop).toEqual(["ALL"]);
    expect(spec.TaskTemplate.ContainerSpec.Labels[labelKeys.specHash]).toBe("abc");
  });
});
