import type { Image, Instance, InstanceHealth, OrchestratorEvent } from "../client/index.ts";
import { specFieldNames } from "../domain/image-spec.ts";
import { eventDetail, eventObject } from "./event-format.ts";
import { formatAge, formatTable } from "./table.ts";

/** `Label:   value` lines, the values lined up. Pure. */
function fields(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 2;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`.trimEnd());
}

const indent = (lines: readonly string[]) => lines.map((line) => `  ${line}`);

function shown(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? undefined : JSON.stringify(value);
  if (typeof value === "object") {
    return Object.keys(value).length === 0 ? undefined : JSON.stringify(value);
  }
  return String(value);
}

function section(title: string, lines: readonly string[], none = "<none>"): string[] {
  return [`${title}:`, ...(lines.length === 0 ? [`  ${none}`] : indent(lines))];
}

function eventsSection(events: readonly OrchestratorEvent[], now: Date): string[] {
  return section(
    "Events",
    events.length === 0
      ? []
      : formatTable(
          ["AGE", "TYPE", "OBJECT", "DETAIL"],
          events.map((event) => [
            formatAge(event.time, now),
            event.type,
            eventObject(event),
            eventDetail(event),
          ]),
        ),
  );
}

function portsOf(instance: Instance): string {
  if (instance.ports.length > 0) {
    return instance.ports
      .map((port) => `${instance.host}:${port.host_port}->${port.container_port}/${port.protocol}`)
      .join(", ");
  }
  return instance.host_port === null
    ? "<none>"
    : `${instance.host}:${instance.host_port}->${instance.container_port}`;
}

/** `describe image NAME`: who and what, the spec, conditions, instances, recent events. Pure. */
export function describeImage(
  image: Image,
  instances: readonly Instance[],
  events: readonly OrchestratorEvent[],
  now: Date,
): string[] {
  const origin =
    image.source_type === "reference"
      ? (image.image ?? "")
      : `uploaded source${image.source_digest === null ? "" : ` sha256:${image.source_digest.slice(0, 12)}`}`;
  const spec = specFieldNames.flatMap((name) => {
    const value = shown((image as Record<string, unknown>)[name]);
    return value === undefined ? [] : [[name, value] as const];
  });
  return [
    ...fields([
      ["Name", image.name],
      ["ID", String(image.id)],
      ["Status", image.status],
      ["Source", origin],
      ["Built image", image.docker_image_id ?? "<none>"],
      ["Pushed as", image.registry_reference ?? "<none>"],
      ["Apply set", image.apply_set ?? "<none>"],
      ["Generation", `${image.generation} (observed ${image.observed_generation})`],
      ["Rollout", image.rollout_paused ? "paused (orchestrator rollout resume)" : "active"],
      ["Created", `${image.created_at} (${formatAge(image.created_at, now)} ago)`],
    ]),
    ...section("Spec", spec.length === 0 ? [] : fields(spec)),
    ...section(
      "Conditions",
      image.conditions.length === 0
        ? []
        : formatTable(
            ["TYPE", "STATUS", "REASON", "MESSAGE", "AGE"],
            image.conditions.map((condition) => [
              condition.type,
              condition.status,
              condition.reason,
              condition.message,
              formatAge(condition.last_transition_time, now),
            ]),
          ),
    ),
    ...section(
      "Instances",
      instances.length === 0
        ? []
        : formatTable(
            ["ID", "NAME", "STATE", "DESIRED", "HEALTH", "PORTS", "RESTARTS", "AGE"],
            instances.map((instance) => [
              instance.id.slice(0, 12),
              instance.name,
              instance.observed_state,
              instance.desired_state,
              instance.health,
              portsOf(instance),
              String(instance.restart_count),
              formatAge(instance.started_at ?? instance.created_at, now),
            ]),
          ),
    ),
    ...eventsSection(events, now),
  ];
}

const percent = (value: number | null | undefined) =>
  value === null || value === undefined ? "-" : `${value.toFixed(1)}%`;

/** `describe container NAME`: its state, ports, restarts, latest sample, recent events. Pure. */
export function describeInstance(
  instance: Instance,
  imageName: string,
  health: InstanceHealth | undefined,
  events: readonly OrchestratorEvent[],
  now: Date,
): string[] {
  const optional = (label: string, value: string | null): Array<readonly [string, string]> =>
    value === null ? [] : [[label, value]];
  return [
    ...fields([
      ["Name", instance.name],
      ["ID", instance.id],
      ["Image", imageName],
      ["Container", instance.container_id ?? "<none>"],
      ["Desired state", instance.desired_state],
      ["State", instance.observed_state],
      ["Health", instance.health],
      ["Ports", portsOf(instance)],
      ["Restarts", String(instance.restart_count)],
      ...optional(
        "Last exit code",
        instance.last_exit_code === null ? null : String(instance.last_exit_code),
      ),
      ...optional("Last error", instance.last_error),
      ...optional("OOM killed", instance.oom_killed ? "yes" : null),
      ...optional("Started", instance.started_at),
      ...optional("Stopped", instance.stopped_at),
      ...optional("Claimed by", instance.claimed_by),
      ["Created", `${instance.created_at} (${formatAge(instance.created_at, now)} ago)`],
    ]),
    ...section(
      "Resources",
      health === undefined || health.sampled_at === null
        ? []
        : fields([
            ["Status", health.status],
            ["CPU", percent(health.cpu_usage)],
            ["Memory", percent(health.memory_usage)],
            ["Sampled", `${health.sampled_at} (${formatAge(health.sampled_at, now)} ago)`],
          ]),
      "<no sample yet>",
    ),
    ...eventsSection(events, now),
  ];
}
