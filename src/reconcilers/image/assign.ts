import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { InstanceRecord } from "./model.ts";

export const isUp = (container: ContainerSnapshot | undefined): boolean =>
  container !== undefined &&
  (container.state === "running" ||
    container.state === "restarting" ||
    container.state === "paused");

export type Assignment = {
  /** The one container each instance keeps. */
  readonly byInstance: ReadonlyMap<string, ContainerSnapshot>;
  /** Containers no record owns. */
  readonly orphans: readonly ContainerSnapshot[];
  /** Second (or later) containers of one instance. */
  readonly duplicates: readonly ContainerSnapshot[];
};

/**
 * Matches containers to instance records by the instance-id label. When an instance has
 * several, it keeps the one its record names, else a running one, else the newest.
 */
export function assignContainers(
  records: readonly InstanceRecord[],
  containers: readonly ContainerSnapshot[],
): Assignment {
  const recordIds = new Set(records.map((record) => record.id));
  const grouped = new Map<string, ContainerSnapshot[]>();
  const orphans: ContainerSnapshot[] = [];
  for (const container of containers) {
    const instanceId = container.labels[labelKeys.instanceId];
    if (instanceId === undefined || !recordIds.has(instanceId)) {
      orphans.push(container);
      continue;
    }
    const group = grouped.get(instanceId);
    if (group === undefined) grouped.set(instanceId, [container]);
    else group.push(container);
  }
  const byInstance = new Map<string, ContainerSnapshot>();
  const duplicates: ContainerSnapshot[] = [];
  for (const record of records) {
    const candidates = grouped.get(record.id) ?? [];
    const keep =
      candidates.find((container) => container.id === record.container_id) ??
      candidates.find((container) => isUp(container)) ??
      [...candidates].sort(
        (left, right) => right.createdAt.getTime() - left.createdAt.getTime(),
      )[0];
    if (keep !== undefined) byInstance.set(record.id, keep);
    for (const container of candidates) if (container !== keep) duplicates.push(container);
  }
  return { byInstance, orphans, duplicates };
}
