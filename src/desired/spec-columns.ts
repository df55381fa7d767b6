import { containerOptionNames } from "../domain/container-options.ts";
import type { ImageSpec } from "../domain/image-spec.ts";
import { parseCpu, parseMemory } from "../domain/quantity.ts";
import type { SpecColumns } from "../store/images-repository.ts";
import { DesiredStateError } from "./errors.ts";

/** A canonical spec as table columns, with the limits also in Docker's units. */
export function specColumns(spec: ImageSpec): SpecColumns {
  const cpu = parseCpu(spec.cpu_limit);
  if (!cpu.ok)
    throw new DesiredStateError("validation_failed", cpu.message, {
      errors: [{ path: "cpu_limit", message: cpu.message }],
    });
  const memory = parseMemory(spec.memory_limit);
  if (!memory.ok)
    throw new DesiredStateError("validation_failed", memory.message, {
      errors: [{ path: "memory_limit", message: memory.message }],
    });
  return {
    tag: spec.tag,
    app_hostname: spec.app_hostname,
    container_port: spec.container_port,
    min_instances: spec.min_instances,
    max_instances: spec.max_instances,
    desired_instances: spec.desired_instances,
    cpu_limit: spec.cpu_limit,
    nano_cpus: cpu.value,
    memory_limit: spec.memory_limit,
    memory_bytes: memory.value,
    env: spec.env,
    health_check: spec.health_check,
    container_options: Object.fromEntries(
      containerOptionNames.map((name) => [name, spec[name]]),
    ) as SpecColumns["container_options"],
  };
}
