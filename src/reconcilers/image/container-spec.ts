import { parseDuration } from "../../domain/duration.ts";
import type { ContainerSpec } from "../../domain/spec-hash.ts";
import type { ImageRecord } from "./model.ts";
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
  };
}
