import { createHash } from "node:crypto";
import type { ServiceRequest, ServiceSecret } from "../../docker/swarm.ts";
import { containerOptionDefaults, withOptionDefaults } from "../../domain/container-options.ts";
import { declaredNetworkLabels, labelKeys, networkLabels } from "../../domain/labels.ts";
import { declaredNetworkName, tenantNetworkName } from "../../domain/names.ts";
import { hasPlacement } from "../../domain/placement.ts";
import { canonicalJson, specHash } from "../../domain/spec-hash.ts";
import {
  containerSpec,
  dockerHealthcheck,
  mountsOf,
  SecretMissingError,
  secretFileMode,
  stopGraceSeconds,
} from "../image/container-spec.ts";
import type { ImageRecord } from "../image/model.ts";
import type { SecretValues } from "../image/ports.ts";
import type { Runnability } from "../image/status.ts";
import { updatePolicy } from "./update-policy.ts";

export type ServiceSettings = {
  readonly orchestratorId: string;
  readonly stopTimeoutSeconds: number;
  readonly pidsLimit: number;
};

/** One image's service: `{orchestratorId}-i{image id}` (an image's name may be reused after it is deleted). */
export function serviceName(orchestratorId: string, imageId: number): string {
  return `${orchestratorId}-i${imageId}`;
}

/**
 * The image a Swarm task's container belongs to, told by its name: the engine names a task's
 * container `{service}.{slot}.{task id}` (a replicated service's), and only this controller makes
 * services named `{orchestratorId}-i{image id}`; labels are claims anyone's Dockerfile can make,
 * a name is not. Undefined for any other container. Pure.
 */
export function imageIdOfTaskContainer(
  containerName: string,
  orchestratorId: string,
): number | undefined {
  const prefix = `${orchestratorId}-i`;
  if (!containerName.startsWith(prefix)) return undefined;
  const match = /^([1-9][0-9]{0,15})\.[0-9]{1,9}\.[a-z0-9]{1,64}$/.exec(
    containerName.slice(prefix.length),
  );
  return match === null ? undefined : Number(match[1]);
}

/** Overlay networks live beside the container runtime's bridges of the same tenant: another name. */
export function overlayName(bridgeName: string): string {
  return `${bridgeName}-swarm`;
}

/**
 * The Docker secret holding one version ("id:version") of a tenant's secret for one image:
 * `{orchestratorId}-i{image id}-s{secret id}-v{version}`. Secret and image ids are the
 * database's, unique across tenants, so two tenants' names never meet; a new value is a new
 * name (Swarm's secrets are immutable). An orchestrator id the name cannot hold (Docker allows
 * 64 characters of `[a-zA-Z0-9._-]`) is shortened to a hash of it.
 */
export function dockerSecretName(orchestratorId: string, imageId: number, version: string): string {
  const [secretId, number] = version.split(":");
  const tail = `-i${imageId}-s${secretId}-v${number}`;
  const fits =
    /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(orchestratorId) &&
    orchestratorId.length + tail.length <= 64;
  const prefix = fits
    ? orchestratorId
    : `o${createHash("sha256").update(orchestratorId).digest("hex").slice(0, 12)}`;
  return `${prefix}${tail}`;
}

/**
 * The image's secret files as Docker secrets: one per file, at its target, named per version,
 * labelled as the controller's and the owner's. Values come from the opened secrets; a name they
 * lack (deleted meanwhile) is a SecretMissingError. Pure.
 */
export function serviceSecrets(
  image: ImageRecord,
  secrets: { readonly versions: Readonly<Record<string, string>>; readonly values: SecretValues },
  orchestratorId: string,
): ServiceSecret[] {
  return withOptionDefaults(image.container_options).secrets.map((file) => {
    const version = secrets.versions[file.name];
    const value = secrets.values.get(file.name);
    if (version === undefined || value === undefined) {
      throw new SecretMissingError(`secret ${file.name} is missing`);
    }
    return {
      name: dockerSecretName(orchestratorId, image.id, version),
      labels: {
        [labelKeys.managedBy]: orchestratorId,
        [labelKeys.imageId]: String(image.id),
        [labelKeys.owner]: String(image.user_id),
        [labelKeys.secret]: file.name,
      },
      value,
      target: file.target,
      mode: secretFileMode,
    };
  });
}

/**
 * The spec hash of an image's service: its containers' spec, and what Swarm does with the
 * service that the container runtime's controller does itself: placement and the restart
 * policy, when they are not the defaults (a change of either is a service update; an image
 * with neither hashes as its containers do).
 */
export function serviceSpecHash(
  image: ImageRecord,
  runnable: Extract<Runnability, { ok: true }>,
): string {
  const { placement, restart_policy: restartPolicy } = withOptionDefaults(image.container_options);
  const defaultRestart =
    canonicalJson(restartPolicy) === canonicalJson(containerOptionDefaults.restart_policy);
  return specHash({
    ...containerSpec(image, runnable),
    ...(hasPlacement(placement) ? { placement } : {}),
    ...(defaultRestart ? {} : { restartPolicy }),
  });
}

/**
 * The Swarm service an image runs as: the container runtime's labels (less the per-instance
 * id: a service's tasks share one spec), limits, env, command, volumes, networks (overlay, per
 * tenant), health check and placement; `replicas` is the desired count; the update policy is
 * the image's `rollout` (update-policy.ts). Pure.
 */
export function serviceRequest(input: {
  readonly image: ImageRecord;
  readonly reference: string;
  readonly env: Readonly<Record<string, string>>;
  readonly specHash: string;
  readonly replicas: number;
  readonly settings: ServiceSettings;
  /** The image's secret files (serviceSecrets), when it names any. */
  readonly secrets?: readonly ServiceSecret[];
}): ServiceRequest {
  const { image, settings } = input;
  const options = withOptionDefaults(image.container_options);
  const policy = options.restart_policy;
  return {
    name: serviceName(settings.orchestratorId, image.id),
    labels: {
      ...options.labels,
      [labelKeys.managedBy]: settings.orchestratorId,
      [labelKeys.imageId]: String(image.id),
      [labelKeys.owner]: String(image.user_id),
      [labelKeys.specHash]: input.specHash,
    },
    image: input.reference,
    env: input.env,
    replicas: input.replicas,
    containerPort: image.container_port,
    ports: options.ports,
    nanoCpus: image.nano_cpus,
    memoryBytes: image.memory_bytes,
    pidsLimit: settings.pidsLimit,
    networks: [
      {
        name: overlayName(tenantNetworkName(settings.orchestratorId, image.user_id)),
        labels: networkLabels(settings.orchestratorId, image.user_id),
      },
      ...options.networks.map((name) => ({
        name: overlayName(declaredNetworkName(settings.orchestratorId, image.user_id, name)),
        labels: declaredNetworkLabels(settings.orchestratorId, image.user_id, name),
      })),
    ],
    aliases: [image.name],
    command: options.command,
    entrypoint: options.entrypoint,
    workingDir: options.working_dir,
    user: options.user,
    hostname: options.hostname,
    stopSignal: options.stop_signal,
    stopGraceSeconds: stopGraceSeconds(image, settings.stopTimeoutSeconds),
    readOnlyRootFilesystem: options.read_only_root_filesystem,
    init: options.init,
    capAdd: options.cap_add,
    mounts: mountsOf(options.volumes, {
      orchestratorId: settings.orchestratorId,
      userId: image.user_id,
    }),
    healthcheck: dockerHealthcheck(image),
    placement: options.placement,
    restart:
      policy.name === "always"
        ? { condition: "any", maxAttempts: 0 }
        : policy.name === "never"
          ? { condition: "none", maxAttempts: 0 }
          : { condition: "on-failure", maxAttempts: policy.max_retries ?? 0 },
    update: updatePolicy(options.rollout, input.replicas, image.max_instances),
    secrets: input.secrets ?? [],
  };
}
