import { describe, expect, it } from "vitest";
import type { TaskSnapshot } from "../../docker/swarm.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { InstanceRecord } from "../image/model.ts";
import {
  assignSlots,
  currentTasks,
  isUnschedulable,
  observedTask,
  taskAsContainer,
  taskError,
  taskHost,
} from "./task-view.ts";

function task(overrides: Partial<TaskSnapshot> & Pick<TaskSnapshot, "id" | "slot">): TaskSnapshot {
  return {
    state: "running",
    desiredState: "running",
    containerId: `c-${overrides.id}`,
    exitCode: null,
    error: "",
    stateSince: new Date("2026-01-01T00:00:10Z"),
    createdAt: new Date("2026-01-01T00:00:00Z"),
    node: "node-1",
    nodeAddress: "127.0.0.1",
    onLocalNode: true,
    labels: { [labelKeys.specHash]: "h1" },
    ports: { "8080/tcp": 30000 + overrides.slot },
    ...overrides,
  };
}

function record(id: string, containerId: string | null, createdSecond = 0): InstanceRecord {
  return {
    id,
    container_id: containerId,
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, createdSecond)),
  } as InstanceRecord;
}

describe("currentTasks", () => {
  it("keeps, per slot, the newest task Swarm wants running over the history", () => {
    const failed = task({
      id: "old",
      slot: 1,
      state: "failed",
      desiredState: "shutdown",
      createdAt: new Date("2026-01-01T00:00:00Z"),
    });
    const replacement = task({ id: "new", slot: 1, createdAt: new Date("2026-01-01T00:01:00Z") });
    const shuttingDown = task({
      id: "late",
      slot: 1,
      state: "running",
      desiredState: "shutdown",
      createdAt: new Date("2026-01-01T00:02:00Z"),
    });
    expect(currentTasks([failed, shuttingDown, replacement]).get(1)?.id).toBe("new");
    expect(currentTasks([failed]).get(1)?.id).toBe("old");
  });
});

describe("assignSlots", () => {
  it("keeps each record on the slot of the task it last saw, also when Swarm replaced that task", () => {
    const tasks = [
      task({ id: "a1", slot: 1, state: "failed", desiredState: "shutdown" }),
      task({ id: "a2", slot: 1, createdAt: new Date("2026-01-01T00:05:00Z") }),
      task({ id: "b1", slot: 2 }),
    ];
    // The newer record saw slot 1's first task: it stays on slot 1, the older takes slot 2.
    const assigned = assignSlots([record("older", null, 0), record("newer", "c-a1", 5)], tasks);
    expect(assigned.get("newer")?.id).toBe("a2");
    expect(assigned.get("older")?.id).toBe("b1");
  });

  it("gives a record no slot when there are fewer wanted tasks than records, and no slot twice", () => {
    const tasks = [task({ id: "x", slot: 3 })];
    const assigned = assignSlots([record("r1", "c-x", 0), record("r2", "c-x", 1)], tasks);
    expect(assigned.get("r1")?.id).toBe("x");
    expect(assigned.has("r2")).toBe(false);
  });
});

describe("taskAsContainer", () => {
  it("is none before the task has a container", () => {
    expect(
      taskAsContainer(task({ id: "p", slot: 1, containerId: null, state: "pending" }), "i"),
    ).toBe(undefined);
  });

  it("carries the instance id, the host port, and for an ended task its exit and error", () => {
    const running = taskAsContainer(task({ id: "r", slot: 2 }), "inst");
    expect(running).toMatchObject({
      id: "c-r",
      state: "running",
      ports: { "8080/tcp": 30002 },
      labels: { [labelKeys.instanceId]: "inst", [labelKeys.specHash]: "h1" },
      details: { startedAt: new Date("2026-01-01T00:00:10Z"), finishedAt: null },
    });
    const failed = taskAsContainer(
      task({
        id: "f",
        slot: 2,
        state: "failed",
        exitCode: 137,
        error: "task: non-zero exit (137)",
      }),
      "inst",
    );
    expect(failed).toMatchObject({
      state: "exited",
      details: { exitCode: 137, error: "task: non-zero exit (137)", startedAt: null },
    });
    expect(taskAsContainer(task({ id: "s", slot: 2, state: "starting" }), "i")?.state).toBe(
      "created",
    );
  });
});

describe("taskError", () => {
  it("marks a pending task no node can take as unschedulable, and leaves other errors as Swarm said", () => {
    const waiting = task({
      id: "p",
      slot: 1,
      state: "pending",
      containerId: null,
      error: "no suitable node (scheduling constraints not satisfied on 1 node)",
    });
    expect(isUnschedulable(waiting)).toBe(true);
    expect(taskError(waiting)).toBe(
      "unschedulable: no suitable node (scheduling constraints not satisfied on 1 node)",
    );
    const rejected = task({ id: "r", slot: 1, state: "rejected", error: "No such image: x" });
    expect(isUnschedulable(rejected)).toBe(false);
    expect(taskError(rejected)).toBe("No such image: x");
  });
});

describe("observedTask", () => {
  const old = task({ id: "old", slot: 1 });
  const waiting = task({
    id: "new",
    slot: 1,
    state: "pending",
    containerId: null,
    createdAt: new Date("2026-01-01T00:01:00Z"),
  });

  it("keeps the old task while a start-first update's new one has not started", () => {
    expect(observedTask(waiting, old)).toBe(old);
    expect(observedTask(waiting, undefined)).toBe(waiting);
    expect(observedTask(old, old)).toBe(old);
  });

  it("moves to the new task once it runs, or once the old one ended or is being stopped", () => {
    const started = { ...waiting, state: "running" as const, containerId: "c-new" };
    expect(observedTask(started, old)).toBe(started);
    expect(observedTask(waiting, { ...old, state: "failed" })).toBe(waiting);
    expect(observedTask(waiting, { ...old, desiredState: "shutdown" })).toBe(waiting);
    expect(observedTask(waiting, { ...old, slot: 2 })).toBe(waiting);
  });
});

describe("taskHost", () => {
  it("is the node's address for a task on another node", () => {
    expect(taskHost({ onLocalNode: false, nodeAddress: "10.0.0.7" })).toBe("10.0.0.7");
    expect(taskHost({ onLocalNode: false, nodeAddress: "fd00::7" })).toBe("fd00::7");
  });

  it("falls back to ADVERTISE_HOST (null) on the controller's own node, or without a usable address", () => {
    expect(taskHost({ onLocalNode: true, nodeAddress: "10.0.0.7" })).toBeNull();
    for (const address of [null, "", "0.0.0.0", "::", "::1", "127.0.0.1", "127.0.1.1"]) {
      expect(taskHost({ onLocalNode: false, nodeAddress: address })).toBeNull();
    }
  });
});
