import type { ContainerFile } from "../../docker/container-files.ts";
import type { Mount, RunOptions } from "../../docker/create-container.ts";
import { containerOptionsForHash, withOptionDefaults } from "../../domain/container-options.ts";
import { parseDuration } from "../../domain/duration.ts";
import { volumeLabels } from "../../domain/labels.ts";
import { isSecretValue, secretNamesOf } from "../../domain/secret-references.ts";
import type { ContainerSpec } from "../../domain/spec-hash.ts";
import { type VolumeMount, volumeDockerName } from "../../domain/volumes.ts";
import type { ImageRecord } from "./model.ts";
import type { SecretValues } from "./ports.ts";
import type { Runnability } from "./status.ts";

/** Docker's HEALTHCHECK for an image whose health check is `{ test: [...] }`. */
export function dockerHealthcheck(image: ImageRecord) {
  const check = image.health_check;
  if (check?.test === undefined) return undefined;
  const ms = (value: string, fallback: number) => {
    const parsed = parseDuration(value);
    return parsed.ok ? parsed.value : fallback;
  };
  return {
    test: check.test,
    intervalMs: ms(check.interval, 10_000),
    timeoutMs: ms(check.timeout, 3_000),
    retries: check.retries,
    startPeriodMs: ms(check.start_period, 0),
  };
}

/** The part of an image's desired state that a running container embodies. */
export function containerSpec(
  image: ImageRecord,
  runnable: Extract<Runnability, { ok: true }>,
): ContainerSpec {
  return {
    image: runnable.reference,
    imageId: runnable.dockerImageId,
    env: image.env,
    containerPort: image.container_port,
    nanoCpus: image.nano_cpus,
    memoryBytes: image.memory_bytes,
    healthcheck: image.health_check?.test,
    options: optionsInHash(image),
    // Which version of each secret, never a value: a new value is a new container.
    secrets:
      runnable.secrets === undefined || Object.keys(runnable.secrets.versions).length === 0
        ? undefined
        : runnable.secrets.versions,
  };
}

/** Whether an image names any secret (in env or as a file). */
export function namesSecrets(image: ImageRecord): boolean {
  return (
    secretNamesOf({
      env: image.env,
      secrets: withOptionDefaults(image.container_options).secrets,
    }).length > 0
  );
}

/** A secret the image names that the opened values lack (resolved, then deleted meanwhile). */
export class SecretMissingError extends Error {
  override name = "SecretMissingError";
}

function openedValue(values: SecretValues, name: string): string {
  const value = values.get(name);
  if (value === undefined) throw new SecretMissingError(`secret ${name} is missing`);
  return value;
}

/** Secret files are readable by every user of the container, owned by root (as Swarm's). */
export const secretFileMode = 0o444;

/**
 * What a container receives of its image's secrets: the env with each `{secret: name}` replaced
 * by the value, and the secret files. Only for the create call: never stored, logged or hashed.
 */
export function secretMaterial(
  image: ImageRecord,
  values: SecretValues,
): { env: Record<string, string>; files: ContainerFile[] } {
  const env = Object.fromEntries(
    Object.entries(image.env).map(([key, value]) => [
      key,
      isSecretValue(value) ? openedValue(values, value.secret) : value,
    ]),
  );
  const files = withOptionDefaults(image.container_options).secrets.map((file) => ({
    path: file.target,
    content: openedValue(values, file.name),
    mode: secretFileMode,
  }));
  return { env, files };
}

function optionsInHash(image: ImageRecord) {
  const options = containerOptionsForHash(withOptionDefaults(image.container_options));
  return Object.keys(options).length === 0 ? undefined : options;
}

/** Seconds a container of this image gets between its stop signal and SIGKILL. */
export function stopGraceSeconds(image: ImageRecord, fallbackSeconds: number): number {
  const grace = withOptionDefaults(image.container_options).stop_grace_period;
  if (grace === null) return fallbackSeconds;
  const parsed = parseDuration(grace);
  return parsed.ok ? Math.ceil(parsed.value / 1000) : fallbackSeconds;
}

/** A container's name as a hostname label: what `hostname` defaults to. */
export function defaultHostname(containerName: string): string {
  // The end of the name holds the instance id: a long name loses its beginning, never the id.
  return containerName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(-63)
    .replace(/^-+|-+$/g, "");
}

/** An image's volumes as the engine mounts them: the tenant's named volumes by Docker name. */
export function mountsOf(
  volumes: readonly VolumeMount[],
  owner: { readonly orchestratorId: string; readonly userId: number },
): Mount[] {
  return volumes.map((volume) =>
    volume.type === "volume"
      ? {
          type: "volume",
          source: volumeDockerName(owner.orchestratorId, owner.userId, volume.source),
          target: volume.target,
          readOnly: volume.read_only,
          labels: volumeLabels(owner.orchestratorId, owner.userId, volume.source),
        }
      : { type: "bind", source: volume.source, target: volume.target, readOnly: volume.read_only },
  );
}

/** How one instance's container runs, from its image's options. */
export function runOptions(
  image: ImageRecord,
  containerName: string,
  settings: { readonly stopTimeoutSeconds: number; readonly orchestratorId: string },
): RunOptions {
  const options = withOptionDefaults(image.container_options);
  return {
    command: options.command,
    entrypoint: options.entrypoint,
    workingDir: options.working_dir,
    user: options.user,
    hostname: options.hostname ?? defaultHostname(containerName),
    labels: options.labels,
    stopSignal: options.stop_signal,
    stopTimeoutSeconds: stopGraceSeconds(image, settings.stopTimeoutSeconds),
    readOnlyRootFilesystem: options.read_only_root_filesystem,
    tmpfs: options.tmpfs,
    init: options.init,
    ports: options.ports,
    privileged: options.privileged,
    capAdd: options.cap_add,
    devices: options.devices,
    mounts: mountsOf(options.volumes, {
      orchestratorId: settings.orchestratorId,
      userId: image.user_id,
    }),
  };
}
