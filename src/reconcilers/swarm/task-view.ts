import type { ContainerSnapshot, ContainerState } from "../../docker/runtime.ts";
import type { TaskSnapshot, TaskState } from "../../docker/swarm.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { InstanceRecord } from "../image/model.ts";

const containerStates: Readonly<Record<TaskState, ContainerState>> = {
  new: "created",
  pending: "created",
  assigned: "created",
  accepted: "created",
  preparing: "created",
  ready: "created",
  starting: "created",
  running: "running",
  complete: "exited",
  shutdown: "exited",
  failed: "exited",
  rejected: "exited",
  orphaned: "exited",
  remove: "removing",
};

/** Swarm's word for a task no node can take ("no suitable node (scheduling constraints …)"). */
export function isUnschedulable(task: TaskSnapshot): boolean {
  return task.state === "pending" && /no suitable node/i.test(task.error);
}

/**
 * The error an instance shows for a task that has no container: one no node can take is
 * `unschedulable: …` (the image's Degraded reason `Unschedulable`), any other is Swarm's own.
 */
export function taskError(task: TaskSnapshot): string {
  return isUnschedulable(task) ? `unschedulable: ${task.error}` : task.error;
}

/**
 * Where a task's published ports answer, when not at the controller's ADVERTISE_HOST (null): a
 * task on another node answers at that node's address (Node.Status.Addr), unless the swarm does
 * not know a usable one (none, unspecified, or loopback: that node's own, not reachable from
 * here). A task on the controller's engine answers where its containers always did. Pure.
 */
export function taskHost(task: Pick<TaskSnapshot, "nodeAddress" | "onLocalNode">): string | null {
  if (task.onLocalNode) return null;
  const address = task.nodeAddress?.trim() ?? "";
  const unusable =
    address === "" ||
    address === "0.0.0.0" ||
    address === "::" ||
    address === "::1" ||
    address.startsWith("127.");
  return unusable ? null : address;
}

/** A task that Swarm still wants running (the others are history, or being shut down). */
export const isWanted = (task: TaskSnapshot): boolean => task.desiredState === "running";

/** The task each slot runs now: the newest one Swarm wants running, else the newest. */
export function currentTasks(tasks: readonly TaskSnapshot[]): Map<number, TaskSnapshot> {
  const bySlot = new Map<number, TaskSnapshot>();
  const newest = [...tasks].sort(
    (left, right) => right.createdAt.getTime() - left.createdAt.getTime(),
  );
  for (const task of newest) {
    const kept = bySlot.get(task.slot);
    if (kept === undefined || (!isWanted(kept) && isWanted(task))) bySlot.set(task.slot, task);
  }
  return bySlot;
}

/**
 * Which slot each instance record stands for. A record keeps the slot of the task it last
 * saw (found by container id among the slot's history, so a task Swarm replaced is the same
 * instance); slots nobody holds go to records that hold none, oldest record first. Pure.
 */
export function assignSlots(
  records: readonly InstanceRecord[],
  tasks: readonly TaskSnapshot[],
): Map<string, TaskSnapshot> {
  const current = currentTasks(tasks);
  const slotOfContainer = new Map<string, number>();
  for (const task of tasks)
    if (task.containerId !== null) slotOfContainer.set(task.containerId, task.slot);
  const assigned = new Map<string, TaskSnapshot>();
  const taken = new Set<number>();
  const ordered = [...records].sort(
    (left, right) =>
      left.created_at.getTime() - right.created_at.getTime() || (left.id < right.id ? -1 : 1),
  );
  for (const record of ordered) {
    const slot =
      record.container_id === null ? undefined : slotOfContainer.get(record.container_id);
    const task = slot === undefined ? undefined : current.get(slot);
    if (slot === undefined || task === undefined || taken.has(slot)) continue;
    assigned.set(record.id, task);
    taken.add(slot);
  }
  const free = [...current.values()]
    .filter((task) => !taken.has(task.slot) && isWanted(task))
    .sort((left, right) => left.slot - right.slot);
  for (const record of ordered) {
    if (assigned.has(record.id)) continue;
    const task = free.shift();
    if (task === undefined) break;
    assigned.set(record.id, task);
  }
  return assigned;
}

/**
 * The task an instance shows: its slot's current one, except while Swarm starts a replacement
 * before it stops the old task (a start-first update): until the new one runs, the old one,
 * still running and still wanted, is the instance (its end is recorded when it really ends; a
 * replacement no node takes leaves it running for good). Pure.
 */
export function observedTask(
  assigned: TaskSnapshot | undefined,
  previous: TaskSnapshot | undefined,
): TaskSnapshot | undefined {
  if (assigned === undefined || previous === undefined || previous.id === assigned.id) {
    return assigned;
  }
  const oldStillServes =
    previous.slot === assigned.slot && previous.state === "running" && isWanted(previous);
  return oldStillServes && assigned.state !== "running" ? previous : assigned;
}

/**
 * A task as the container it runs, labelled with the instance it stands for, so the container
 * runtime's pure observation (observe.ts) and status (status.ts) read it unchanged. A task
 * without a container yet (being scheduled, or rejected before one was made) is none.
 */
export function taskAsContainer(
  task: TaskSnapshot,
  instanceId: string,
): ContainerSnapshot | undefined {
  if (task.containerId === null) return undefined;
  const state = containerStates[task.state];
  const ended = state === "exited";
  return {
    id: task.containerId,
    name: `${task.slot}.${task.id}`,
    labels: { ...task.labels, [labelKeys.instanceId]: instanceId },
    state,
    createdAt: task.createdAt,
    ports: task.ports,
    details: {
      exitCode: task.exitCode ?? (ended ? -1 : 0),
      oomKilled: false,
      error: task.state === "failed" || task.state === "rejected" ? task.error : "",
      startedAt: state === "running" ? task.stateSince : null,
      finishedAt: ended ? task.stateSince : null,
    },
  };
}
