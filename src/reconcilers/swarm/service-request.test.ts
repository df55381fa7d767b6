import { describe, expect, it } from "vitest";
import { engineServiceSpec } from "../../docker/swarm.ts";
import { labelKeys } from "../../domain/labels.ts";
import { specHash } from "../../domain/spec-hash.ts";
import { containerSpec } from "../image/container-spec.ts";
import { imageRecordFixture } from "../image/image-record-fixture.ts";
import type { ImageRecord } from "../image/model.ts";
import { serviceRequest, serviceSpecHash } from "./service-request.ts";

const settings = { orchestratorId: "orch", stopTimeoutSeconds: 10, pidsLimit: 512 };

const image = imageRecordFixture;

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

describe("placement", () => {
  const runnable = { ok: true, reference: "shop:v1", dockerImageId: "sha256:1" } as const;
  const placed = image({
    placement: {
      constraints: ["node.role==manager", "node.labels.zone!=b"],
      spread: "node.labels.zone",
    },
  });

  it("becomes the task template's Placement: constraints and a spread preference", () => {
    expect(engineServiceSpec(request(placed)).TaskTemplate.Placement).toEqual({
      Constraints: ["node.role==manager", "node.labels.zone!=b"],
      Preferences: [{ Spread: { SpreadDescriptor: "node.labels.zone" } }],
    });
    expect(engineServiceSpec(request(image())).TaskTemplate.Placement).toEqual({});
  });

  it("is in the service's spec hash when set (a change updates the service), absent otherwise", () => {
    const plain = serviceSpecHash(image(), runnable);
    expect(plain).toBe(specHash(containerSpec(image(), runnable)));
    expect(serviceSpecHash(placed, runnable)).not.toBe(plain);
    const respread = image({
      placement: {
        constraints: ["node.role==manager", "node.labels.zone!=b"],
        spread: "node.labels.rack",
      },
    });
    expect(serviceSpecHash(respread, runnable)).not.toBe(serviceSpecHash(placed, runnable));
    // The container runtime's hash ignores it: a new placement replaces no container there.
    expect(specHash(containerSpec(placed, runnable))).toBe(plain);
  });

  it("holds a restart policy other than the default: Swarm restarts tasks, a new one updates the service", () => {
    const plain = serviceSpecHash(image(), runnable);
    expect(serviceSpecHash(image({ restart_policy: { name: "always" } }), runnable)).toBe(plain);
    const never = serviceSpecHash(image({ restart_policy: { name: "never" } }), runnable);
    const onFailure = serviceSpecHash(
      image({ restart_policy: { name: "on-failure", max_retries: 3 } }),
      runnable,
    );
    expect(new Set([plain, never, onFailure]).size).toBe(3);
    expect(specHash(containerSpec(image({ restart_policy: { name: "never" } }), runnable))).toBe(
      plain,
    );
  });
});
