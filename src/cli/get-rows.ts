import type { ContainerView, ImageWithContainersView } from "./api-types.ts";
import { formatAge } from "./table.ts";

export type Columns = { readonly headers: readonly string[]; readonly rows: string[][] };

function conditionOf(image: ImageWithContainersView, type: string) {
  return image.conditions.find((condition) => condition.type === type);
}

/** Why an image is not simply fine: its Degraded reason, else its Ready reason when not ready. */
function reasonOf(image: ImageWithContainersView): string {
  const degraded = conditionOf(image, "Degraded");
  if (degraded?.status === "True") return degraded.reason;
  const ready = conditionOf(image, "Ready");
  if (ready !== undefined && ready.status !== "True") return ready.reason;
  return "";
}

function originOf(image: ImageWithContainersView): string {
  if (image.source_type === "reference") return image.image ?? "";
  return image.source_digest === null ? "(source)" : `(source ${image.source_digest.slice(0, 12)})`;
}

/** A pool as `claimed/total (min_idle idle, max N)`; empty for an image without one. */
function poolOf(image: ImageWithContainersView): string {
  if (image.pool === null) return "";
  const { min_idle, max } = image.pool;
  return `${image.containers.claimed}/${image.containers.total} claimed (min_idle ${min_idle}, max ${max})`;
}

/** `get images`: one row per image; `wide` adds the spec and the conditions. Pure. */
export function imageColumns(
  images: readonly ImageWithContainersView[],
  wide: boolean,
  now: Date,
): Columns {
  const headers = ["ID", "NAME", "STATUS", "READY", "IMAGE", "AGE"];
  const wideHeaders = [
    "TAG",
    "CPU",
    "MEMORY",
    "MIN",
    "MAX",
    "HOSTNAME",
    "SET",
    "GEN",
    "POOL",
    "REASON",
    "USER",
  ];
  return {
    headers: wide ? [...headers, ...wideHeaders] : headers,
    rows: images.map((image) => {
      const row = [
        String(image.id),
        image.name,
        image.status,
        `${image.containers.running}/${image.desired_instances}`,
        originOf(image),
        formatAge(image.created_at, now),
      ];
      if (!wide) return row;
      return [
        ...row,
        image.tag,
        image.cpu_limit,
        image.memory_limit,
        String(image.min_instances),
        String(image.max_instances),
        image.app_hostname ?? "",
        image.apply_set ?? "",
        `${image.observed_generation}/${image.generation}`,
        poolOf(image),
        reasonOf(image),
        image.user_id,
      ];
    }),
  };
}

/** `get containers`: one row per instance; `wide` adds the Docker id, health and last error. Pure. */
export function containerColumns(
  containers: readonly ContainerView[],
  imageNames: ReadonlyMap<number, string>,
  wide: boolean,
  now: Date,
): Columns {
  const headers = ["ID", "NAME", "IMAGE", "STATE", "DESIRED", "PORTS", "RESTARTS", "AGE"];
  const wideHeaders = ["CONTAINER", "HEALTH", "USER", "LAST ERROR"];
  return {
    headers: wide ? [...headers, ...wideHeaders] : headers,
    rows: containers.map((container) => {
      const ports =
        container.host_port === null
          ? ""
          : `${container.host}:${container.host_port}->${container.container_port ?? "?"}`;
      const row = [
        container.id,
        container.name,
        imageNames.get(container.image_id) ?? String(container.image_id),
        container.marked_for_deletion
          ? `${container.observed_state} (deleting)`
          : container.observed_state,
        container.desired_state,
        ports,
        String(container.restart_count),
        formatAge(container.created_at, now),
      ];
      if (!wide) return row;
      return [
        ...row,
        container.container_id?.slice(0, 12) ?? "",
        String(container.health),
        container.user_id,
        container.last_error ?? "",
      ];
    }),
  };
}
