import { describe, expect, it } from "vitest";
import { engineServiceSpec } from "../../docker/swarm.ts";
import { labelKeys } from "../../domain/labels.ts";
import { specHash } from "../../domain/spec-hash.ts";
import { containerSpec } from "../image/container-spec.ts";
import { imageRecordFixture } from "../image/image-record-fixture.ts";
import type { ImageRecord } from "../image/model.ts";
import {
  dockerSecretName,
  imageIdOfTaskContainer,
  serviceRequest,
  serviceSecrets,
  serviceSpecHash,
} from "./service-request.ts";

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

describe("secrets", () => {
  const named = image(
    {
      secrets: [
        { name: "db", target: "/run/secrets/db" },
        { name: "tls", target: "/etc/tls.pem" },
      ],
    },
    { env: { PLAIN: "x", DB: { secret: "db" } } },
  );
  const versions = { db: "41:3", tls: "42:1" };
  const values = new Map([
    ["db", "hunter2"],
    ["tls", "PEM"],
  ]);

  it("names a Docker secret by image, secret id and version: two tenants' never meet, a new value is a new name", () => {
    expect(dockerSecretName("orch", 7, "41:3")).toBe("orch-i7-s41-v3");
    expect(dockerSecretName("orch", 8, "41:3")).not.toBe(dockerSecretName("orch", 7, "41:3"));
    expect(dockerSecretName("orch", 7, "41:4")).not.toBe(dockerSecretName("orch", 7, "41:3"));
    expect(dockerSecretName("orch", 7, "43:3")).not.toBe(dockerSecretName("orch", 7, "41:3"));
  });

  it("shortens an orchestrator id the name cannot hold to a hash (Docker: 64 of [a-zA-Z0-9._-])", () => {
    const long = dockerSecretName("o".repeat(70), 7, "41:3");
    expect(long).toMatch(/^o[0-9a-f]{12}-i7-s41-v3$/);
    expect(dockerSecretName("orch/x", 7, "41:3")).toMatch(/^o[0-9a-f]{12}-i7-s41-v3$/);
    expect(dockerSecretName("o".repeat(71), 7, "41:3")).not.toBe(long);
  });

  it("makes one Docker secret per file, at its target, read-only, labelled with the owner", () => {
    expect(serviceSecrets(named, { versions, values }, "orch")).toEqual([
      {
        name: "orch-i7-s41-v3",
        labels: {
          [labelKeys.managedBy]: "orch",
          [labelKeys.imageId]: "7",
          [labelKeys.owner]: "3",
          [labelKeys.secret]: "db",
        },
        value: "hunter2",
        target: "/run/secrets/db",
        mode: 0o444,
      },
      expect.objectContaining({ name: "orch-i7-s42-v1", target: "/etc/tls.pem", value: "PEM" }),
    ]);
    expect(() =>
      serviceSecrets(named, { versions, values: new Map([["db", "hunter2"]]) }, "orch"),
    ).toThrow(/tls is missing/);
  });

  it("becomes the container spec's Secrets, by the ids the engine gave them; none when there are none", () => {
    const secrets = serviceSecrets(named, { versions, values }, "orch");
    const spec = engineServiceSpec(
      serviceRequest({
        image: named,
        reference: "shop:v1",
        env: {},
        specHash: "abc",
        replicas: 1,
        settings,
        secrets,
      }),
      new Map([
        ["orch-i7-s41-v3", "id-db"],
        ["orch-i7-s42-v1", "id-tls"],
      ]),
    );
    expect(spec.TaskTemplate.ContainerSpec.Secrets).toEqual([
      {
        SecretID: "id-db",
        SecretName: "orch-i7-s41-v3",
        File: { Name: "/run/secrets/db", UID: "0", GID: "0", Mode: 0o444 },
      },
      {
        SecretID: "id-tls",
        SecretName: "orch-i7-s42-v1",
        File: { Name: "/etc/tls.pem", UID: "0", GID: "0", Mode: 0o444 },
      },
    ]);
    // The values never enter the engine's spec (they go in the secret objects).
    expect(JSON.stringify(spec)).not.toContain("hunter2");
    expect(engineServiceSpec(request(image())).TaskTemplate.ContainerSpec).not.toHaveProperty(
      "Secrets",
    );
  });
});

describe("imageIdOfTaskContainer", () => {
  it("reads the image id from a task container's name ({service}.{slot}.{task id})", () => {
    expect(imageIdOfTaskContainer("orch-i42.3.k2x9abcdef0123456789", "orch")).toBe(42);
    expect(imageIdOfTaskContainer("orch-i7.1.abc", "orch")).toBe(7);
  });

  it("is undefined for another controller's, a container runtime's, or a look-alike name", () => {
    for (const name of [
      "other-i42.3.k2x9",
      "orch-shop-1kb0zbkp42",
      "orch-i42",
      "orch-i42.3",
      "orch-i0.1.abc",
      "orch-i42.x.abc",
      "orch-i42.3.abc.def",
      "orch-ishop.3.abc",
      "orch-i42.3.ABC",
    ]) {
      expect(imageIdOfTaskContainer(name, "orch")).toBeUndefined();
    }
    // Another controller whose id starts with this one's.
    expect(imageIdOfTaskContainer("orch-i42.3.abc", "orch-i")).toBeUndefined();
  });
});
