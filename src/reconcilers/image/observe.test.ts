import { describe, expect, it } from "vitest";
import type { ContainerSnapshot } from "../../docker/runtime.ts";
import { labelKeys } from "../../domain/labels.ts";
import type { InstanceRecord } from "./model.ts";
import { observeInstance } from "./observe.ts";

const now = new Date("2026-01-01T00:10:00Z");
const context = { now, containerPort: 8080 };

function record(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id: "a",
    image_id: 7,
    user_id: 1,
    container_name: "orch-shop-a",
    desired_state: "running",
    deletion_requested_at: null,
    deletion_reason: null,
    observed_state: "pending",
    container_id: null,
    host_port: null,
    host: null,
    spec_hash: null,
    restart_count: 0,
    consecutive_failures: 0,
    next_restart_at: null,
    last_exit_code: null,
    last_error: null,
    oom_killed: false,
    health: "unknown",
    last_logs: null,
    probe_failures: 0,
    last_probe: null,
    host_ports: {},
    restart_requested_at: null,
    claim_id: null,
    claim_key: null,
    claimed_at: null,
    claim_expires_at: null,
    recycle_requested_at: null,
    started_at: null,
    stopped_at: null,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

function container(overrides: Partial<ContainerSnapshot> = {}): ContainerSnapshot {
  return {
    id: "c1",
    name: "orch-shop-a",
    labels: { [labelKeys.instanceId]: "a", [labelKeys.specHash]: "h1" },
    state: "running",
    createdAt: now,
    ports: { "8080/tcp": 32768 },
    ...overrides,
  };
}

const exited = (
  exitCode: number,
  startedAt: Date,
  extra: Partial<NonNullable<ContainerSnapshot["details"]>> = {},
) =>
  container({
    state: "exited",
    details: { exitCode, oomKilled: false, error: "", startedAt, finishedAt: now, ...extra },
  });

describe("observeInstance", () => {
  it("records a new running container as created then started, with its host port", () => {
    const observation = observeInstance(record(), container(), { ...context, reason: "scale_up" });
    expect(observation.events.map((e) => [e.type, e.reason])).toEqual([
      ["container.created", "scale_up"],
      ["container.started", "scale_up"],
    ]);
    expect(observation.patch).toMatchObject({
      container_id: "c1",
      observed_state: "running",
      host_port: 32768,
      spec_hash: "h1",
      started_at: now,
    });
  });

  it("reports nothing when nothing changed", () => {
    const steady = record({
      container_id: "c1",
      observed_state: "running",
      host_port: 32768,
      host_ports: { "8080/tcp": 32768 },
      spec_hash: "h1",
      started_at: now,
    });
    expect(observeInstance(steady, container(), context)).toEqual({ patch: {}, events: [] });
  });

  it("adopts a container created before a crash (no record of it yet)", () => {
    const observation = observeInstance(record(), container({ state: "created" }), context);
    expect(observation.events.map((e) => [e.type, e.reason])).toEqual([
      ["container.created", "adopted"],
    ]);
    expect(observation.patch.observed_state).toBe("creating");
  });

  it("turns an unexpected exit into a failure with back-off; a second one into crash_loop", () => {
    const running = record({
      container_id: "c1",
      observed_state: "running",
      started_at: new Date(now.getTime() - 5_000),
    });
    const first = observeInstance(running, exited(1, running.started_at as Date), context);
    expect(first.events).toEqual([
      { type: "container.failed", reason: "crashed", exitCode: 1, error: "exited with code 1" },
    ]);
    expect(first.patch).toMatchObject({
      observed_state: "exited",
      consecutive_failures: 1,
      next_restart_at: now,
      last_exit_code: 1,
    });

    const again = observeInstance(
      { ...running, consecutive_failures: 1 },
      exited(1, running.started_at as Date),
      context,
    );
    expect(again.patch).toMatchObject({
      observed_state: "crash_loop",
      consecutive_failures: 2,
      next_restart_at: new Date(now.getTime() + 10_000), // second failure in a row: 10 s
    });
  });

  it("resets the failure count when the container had run for ten minutes", () => {
    const running = record({
      container_id: "c1",
      observed_state: "running",
      consecutive_failures: 5,
      started_at: new Date(now.getTime() - 600_000),
    });
    expect(
      observeInstance(running, exited(2, running.started_at as Date), context).patch
        .consecutive_failures,
    ).toBe(1);
    expect(observeInstance(running, container(), context).patch.consecutive_failures).toBe(0);
  });

  it("keeps counting (and backing off longer) when the container ran just under ten minutes", () => {
    const running = record({
      container_id: "c1",
      observed_state: "running",
      consecutive_failures: 5,
      started_at: new Date(now.getTime() - 599_999),
    });
    expect(
      observeInstance(running, exited(2, running.started_at as Date), context).patch,
    ).toMatchObject({
      consecutive_failures: 6,
      next_restart_at: new Date(now.getTime() + 160_000), // sixth failure in a row: 160 s
    });
  });

  it("restarts at once after the reset (a fresh count)", () => {
    const running = record({
      container_id: "c1",
      observed_state: "running",
      consecutive_failures: 7,
      started_at: new Date(now.getTime() - 600_000),
    });
    expect(
      observeInstance(running, exited(2, running.started_at as Date), context).patch,
    ).toMatchObject({
      consecutive_failures: 1,
      next_restart_at: now,
    });
  });

  it("records an OOM kill as such", () => {
    const running = record({ container_id: "c1", observed_state: "running", started_at: now });
    const observation = observeInstance(running, exited(137, now, { oomKilled: true }), context);
    expect(observation.events[0]).toMatchObject({
      type: "container.failed",
      reason: "oom_killed",
      exitCode: 137,
    });
    expect(observation.patch).toMatchObject({
      oom_killed: true,
      last_error: "killed: out of memory (memory limit reached)",
    });
  });

  it("records an exit the controller asked for as stopped, not failed", () => {
    const stopping = record({
      container_id: "c1",
      observed_state: "running",
      desired_state: "stopped",
      started_at: now,
    });
    const observation = observeInstance(stopping, exited(143, now), context);
    expect(observation.events).toEqual([
      { type: "container.stopped", reason: "stop", exitCode: 143 },
    ]);
    expect(observation.patch.observed_state).toBe("stopped");
  });

  it("records a container that died before it was seen running as started and failed", () => {
    const creating = record({ container_id: "c1", observed_state: "creating" });
    const observation = observeInstance(
      creating,
      exited(3, new Date(now.getTime() - 100)),
      context,
    );
    expect(observation.events.map((e) => e.type)).toEqual([
      "container.started",
      "container.failed",
    ]);
  });

  it("records a container removed behind its back as stopped and removed", () => {
    const running = record({ container_id: "c1", observed_state: "running", started_at: now });
    const observation = observeInstance(running, undefined, context);
    expect(observation.events.map((e) => [e.type, e.reason])).toEqual([
      ["container.stopped", "removed_externally"],
      ["container.removed", "removed_externally"],
    ]);
    expect(observation.patch).toMatchObject({
      container_id: null,
      observed_state: "pending",
      stopped_at: now,
    });
  });

  it("still records the stop of a running container seen half-removed before it vanished", () => {
    const running = record({ container_id: "c1", observed_state: "running", started_at: now });
    const removing = observeInstance(running, container({ id: "c1", state: "removing" }), context);
    expect(removing.events).toEqual([]);
    const gone = observeInstance({ ...running, ...removing.patch }, undefined, context);
    expect(gone.events.map((e) => [e.type, e.reason])).toEqual([
      ["container.stopped", "removed_externally"],
      ["container.removed", "removed_externally"],
    ]);
  });
});

describe("observeInstance after a restart", () => {
  it("records a restarted container that died before it was seen running as a new failure", () => {
    const crashLooping = record({
      container_id: "c1",
      observed_state: "crash_loop",
      consecutive_failures: 2,
      started_at: new Date(now.getTime() - 60_000),
      stopped_at: new Date(now.getTime() - 59_000),
    });
    const diedAgain = exited(0, new Date(now.getTime() - 50));
    const observation = observeInstance(crashLooping, diedAgain, { ...context, reason: "restart" });
    expect(observation.events.map((e) => e.type)).toEqual([
      "container.started",
      "container.stopped",
    ]);
    expect({ ...crashLooping, ...observation.patch }).toMatchObject({
      consecutive_failures: 3,
      observed_state: "crash_loop",
      next_restart_at: new Date(now.getTime() + 20_000), // third: 20 s
    });
  });

  it("reports nothing new for the same dead run seen again", () => {
    const crashLooping = record({
      container_id: "c1",
      observed_state: "crash_loop",
      consecutive_failures: 2,
      stopped_at: now,
    });
    expect(
      observeInstance(crashLooping, exited(1, new Date(now.getTime() - 100)), context),
    ).toEqual({ patch: {}, events: [] });
  });
});
