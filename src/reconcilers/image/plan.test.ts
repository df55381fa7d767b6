import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ContainerSnapshot, ContainerState } from "../../docker/runtime.ts";
import { labelKeys } from "../../domain/labels.ts";
import { imageRecordFixture } from "./image-record-fixture.ts";
import type { ImageRecord, InstanceRecord } from "./model.ts";
import { type Action, planImage, scaleDownOrder } from "./plan.ts";

const now = new Date("2026-01-01T00:00:00Z");
const desiredHash = "h-current";

/** The fixture row with plan-sized counts (3 wanted of at most 10) and user 1. */
function image(overrides: Partial<ImageRecord> = {}): ImageRecord {
  return imageRecordFixture(
    {},
    { user_id: 1, max_instances: 10, desired_instances: 3, env: {}, ...overrides },
  );
}

function record(id: string, overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    id,
    image_id: 7,
    user_id: 1,
    container_name: `orch-shop-${id}`,
    desired_state: "running",
    deletion_requested_at: null,
    deletion_reason: null,
    observed_state: "running",
    container_id: `c-${id}`,
    host_port: null,
    host: null,
    spec_hash: desiredHash,
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
    started_at: now,
    stopped_at: null,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

function container(
  id: string,
  instanceId: string | undefined,
  overrides: Partial<ContainerSnapshot> = {},
  hash = desiredHash,
): ContainerSnapshot {
  return {
    id,
    name: `orch-shop-${instanceId ?? id}`,
    labels: {
      [labelKeys.managedBy]: "orch",
      [labelKeys.imageId]: "7",
      ...(instanceId === undefined ? {} : { [labelKeys.instanceId]: instanceId }),
      [labelKeys.specHash]: hash,
    },
    state: "running",
    createdAt: now,
    ports: { "8080/tcp": 32768 },
    ...overrides,
  };
}

const kinds = (actions: readonly Action[]) => actions.map((action) => action.kind);

describe("planImage", () => {
  it("is empty for a converged image", () => {
    const records = ["a", "b", "c"].map((id) => record(id));
    const containers = records.map((r) => container(`c-${r.id}`, r.id));
    expect(planImage({ image: image(), records, containers, desiredHash, now }).actions).toEqual(
      [],
    );
  });

  it("adds instances, then creates their containers", () => {
    const plan = planImage({ image: image(), records: [], containers: [], desiredHash, now });
    expect(plan.actions).toEqual([{ kind: "addInstances", count: 3 }]);
    const records = [
      record("a", { container_id: null, observed_state: "pending", started_at: null }),
    ];
    const next = planImage({
      image: image({ desired_instances: 1 }),
      records,
      containers: [],
      desiredHash,
      now,
    });
    expect(next.actions).toEqual([
      { kind: "createContainer", instanceId: "a", reason: "scale_up" },
    ]);
  });

  it("recreates a container removed behind its back, and restarts one that exited", () => {
    const records = [record("a", { container_id: null, observed_state: "pending" }), record("b")];
    const containers = [container("c-b", "b", { state: "exited" })];
    const plan = planImage({
      image: image({ desired_instances: 2 }),
      records,
      containers,
      desiredHash,
      now,
    });
    expect(plan.actions).toEqual([
      { kind: "createContainer", instanceId: "a", reason: "recreate" },
      { kind: "startContainer", instanceId: "b", containerId: "c-b", reason: "restart" },
    ]);
  });

  it("waits for a crash-looping instance's back-off and says when to come back", () => {
    const records = [
      record("a", {
        observed_state: "crash_loop",
        next_restart_at: new Date(now.getTime() + 20_000),
      }),
    ];
    const plan = planImage({
      image: image({ desired_instances: 1 }),
      records,
      containers: [container("c-a", "a", { state: "exited" })],
      desiredHash,
      now,
    });
    expect(plan.actions).toEqual([]);
    expect(plan.requeueAfterMs).toBe(20_000);
  });

  it("removes orphans and duplicates, never foreign containers (they are not in its input)", () => {
    const records = [record("a")];
    const containers = [
      container("c-a", "a"),
      container("c-dup", "a", { createdAt: new Date(now.getTime() + 1000) }),
      container("c-orphan", "zzz"),
      container("c-nolabel", undefined),
    ];
    const plan = planImage({
      image: image({ desired_instances: 1 }),
      records,
      containers,
      desiredHash,
      now,
    });
    expect(plan.actions).toEqual([
      { kind: "removeStray", containerId: "c-orphan", reason: "orphan" },
      { kind: "removeStray", containerId: "c-nolabel", reason: "orphan" },
      { kind: "removeStray", containerId: "c-dup", reason: "duplicate" },
    ]);
  });

  it("scales down not-started first, then unhealthy, then newest", () => {
    const records = [
      record("old", { created_at: new Date(1000) }),
      record("new", { created_at: new Date(5000) }),
      record("sick", { created_at: new Date(2000), health: "unhealthy" }),
      record("dead", { created_at: new Date(3000) }),
    ];
    const containers = [
      container("c-old", "old"),
      container("c-new", "new"),
      container("c-sick", "sick"),
      container("c-dead", "dead", { state: "exited" }),
    ];
    const plan = planImage({
      image: image({ desired_instances: 1 }),
      records,
      containers,
      desiredHash,
      now,
    });
    expect(
      plan.actions
        .filter((action) => action.kind === "removeInstance")
        .map((action) => action.instanceId),
    ).toEqual(["dead", "sick", "new"]);
  });

  it("replaces drifted containers a quarter at a time while the rest are up", () => {
    const records = ["a", "b", "c", "d", "e", "f", "g", "h"].map((id) => record(id));
    const containers = records.map((r) => container(`c-${r.id}`, r.id, {}, "h-old"));
    const plan = planImage({
      image: image({ desired_instances: 8 }),
      records,
      containers,
      desiredHash,
      now,
    });
    expect(kinds(plan.actions)).toEqual(["replaceContainer", "replaceContainer"]);
  });

  it("with max_unavailable 0, starts a new instance above the desired count before any old one goes", () => {
    const startFirst = image({
      desired_instances: 4,
      container_options: {
        rollout: { max_surge: 1, max_unavailable: 0, min_ready: "5s", progress_deadline: "10m" },
      },
    });
    const old = ["a", "b", "c", "d"].map((id) =>
      record(id, { started_at: new Date(now.getTime() - 60_000) }),
    );
    const oldContainers = old.map((r) => container(`c-${r.id}`, r.id, {}, "h-old"));
    const first = planImage({
      image: startFirst,
      records: old,
      containers: oldContainers,
      desiredHash,
      now,
    });
    expect(first.actions).toEqual([{ kind: "addInstances", count: 1 }]);

    // The new one runs, but not for min_ready yet: nothing goes, the surplus stays.
    const young = record("n", { started_at: new Date(now.getTime() - 1_000) });
    const waiting = planImage({
      image: startFirst,
      records: [...old, young],
      containers: [...oldContainers, container("c-n", "n")],
      desiredHash,
      now,
    });
    expect(waiting.actions).toEqual([]);

    // Ready: one old instance is retired.
    const ready = planImage({
      image: startFirst,
      records: [...old, { ...young, started_at: new Date(now.getTime() - 6_000) }],
      containers: [...oldContainers, container("c-n", "n")],
      desiredHash,
      now,
    });
    expect(ready.actions).toEqual([
      {
        kind: "removeInstance",
        instanceId: "a",
        containerId: "c-a",
        reason: "spec_changed",
        mark: true,
      },
    ]);
  });

  it("reckons a new instance's min_ready as of the list, not the plan's clock", () => {
    const startFirst = image({
      desired_instances: 1,
      container_options: {
        rollout: { max_surge: 1, max_unavailable: 0, min_ready: "5s", progress_deadline: "10m" },
      },
    });
    const old = record("a", { started_at: new Date(now.getTime() - 60_000) });
    const young = record("n", { started_at: new Date(now.getTime() - 4_000) });
    // Listed 4 s after it started; the pass then took 2 s before it planned.
    const plan = planImage({
      image: startFirst,
      records: [old, young],
      containers: [container("c-a", "a", {}, "h-old"), container("c-n", "n")],
      desiredHash,
      now: new Date(now.getTime() + 2_000),
      listedAt: now,
    });
    expect(plan.actions).toEqual([]);
  });

  it("counts a new instance with a health check only once it is healthy", () => {
    const probed = image({
      desired_instances: 2,
      health_check: {
        http_path: "/",
        interval: "1s",
        timeout: "1s",
        retries: 1,
        start_period: "0s",
      },
      container_options: {
        rollout: { max_surge: 1, max_unavailable: 0, min_ready: "0s", progress_deadline: "10m" },
      },
    });
    const old = ["a", "b"].map((id) => record(id, { health: "healthy" }));
    const containers = [
      ...old.map((r) => container(`c-${r.id}`, r.id, {}, "h-old")),
      container("c-n", "n"),
    ];
    const plan = (health: InstanceRecord["health"]) =>
      planImage({
        image: probed,
        records: [...old, record("n", { health })],
        containers,
        desiredHash,
        now,
      }).actions.map((action) => action.kind);
    expect(plan("unknown")).toEqual([]);
    expect(plan("healthy")).toEqual(["removeInstance"]);
  });

  it("starts no rollout step while the rollout is paused, but still restarts a crashed instance", () => {
    const paused = { ...image({ desired_instances: 2 }), rollout_paused: true } as ImageRecord;
    const records = [record("a"), record("b")];
    const containers = [
      container("c-a", "a", {}, "h-old"),
      container("c-b", "b", { state: "exited" }, "h-old"),
    ];
    const plan = planImage({ image: paused, records, containers, desiredHash, now });
    expect(plan.actions).toEqual([
      { kind: "startContainer", instanceId: "b", containerId: "c-b", reason: "restart" },
    ]);
    const resumed = planImage({
      image: { ...paused, rollout_paused: false } as ImageRecord,
      records,
      containers,
      desiredHash,
      now,
    });
    // Resumed: the crashed one is replaced at once; the serving one waits (max_unavailable 1).
    expect(resumed.actions).toEqual([
      { kind: "replaceContainer", instanceId: "b", containerId: "c-b", reason: "spec_changed" },
    ]);
  });

  it("creates nothing while the image cannot run, but still removes", () => {
    const records = [
      record("a", { container_id: null }),
      record("b", { deletion_requested_at: now, deletion_reason: "deleted" }),
    ];
    const containers = [container("c-b", "b"), container("c-old", "a", {}, "h-old")];
    const plan = planImage({
      image: image({ desired_instances: 1 }),
      records,
      containers,
      desiredHash: undefined,
      now,
    });
    expect(kinds(plan.actions)).toEqual(["removeInstance"]);
  });

  it("stops an instance whose desired state is stopped, and leaves it stopped", () => {
    const records = [record("a", { desired_state: "stopped" })];
    const running = planImage({
      image: image({ desired_instances: 1 }),
      records,
      containers: [container("c-a", "a")],
      desiredHash,
      now,
    });
    expect(running.actions).toEqual([
      { kind: "stopContainer", instanceId: "a", containerId: "c-a" },
    ]);
    const stopped = planImage({
      image: image({ desired_instances: 1 }),
      records,
      containers: [container("c-a", "a", { state: "exited" })],
      desiredHash,
      now,
    });
    expect(stopped.actions).toEqual([]);
  });

  it("restarts an instance once when asked, and a drifted one is replaced instead", () => {
    const asked = [record("a", { restart_requested_at: now }), record("b")];
    const plan = planImage({
      image: image({ desired_instances: 2 }),
      records: asked,
      containers: [container("c-a", "a"), container("c-b", "b")],
      desiredHash,
      now,
    });
    expect(plan.actions).toEqual([
      { kind: "restartContainer", instanceId: "a", containerId: "c-a" },
    ]);
    const drifted = planImage({
      image: image({ desired_instances: 1 }),
      records: [record("a", { restart_requested_at: now })],
      containers: [container("c-a", "a", {}, "h-old")],
      desiredHash,
      now,
    });
    expect(kinds(drifted.actions)).toEqual(["replaceContainer"]);
  });

  it("deletes every instance of an image being deleted, then the image", () => {
    const records = [record("a"), record("b", { container_id: null })];
    const plan = planImage({
      image: image({ status: "deleting" }),
      records,
      containers: [container("c-a", "a"), container("c-x", "x")],
      desiredHash,
      now,
    });
    expect(kinds(plan.actions)).toEqual(["removeStray", "removeInstance", "removeInstance"]);
    const done = planImage({
      image: image({ status: "deleting" }),
      records: [],
      containers: [],
      desiredHash,
      now,
    });
    expect(done.actions).toEqual([{ kind: "finishImageDeletion" }]);
  });

  it("waiting for dependencies, adds and creates nothing, but keeps what runs", () => {
    const waitFor = { dependencies: true, dependents: false };
    expect(
      planImage({ image: image(), records: [], containers: [], desiredHash, now, waitFor }).actions,
    ).toEqual([]);
    const records = [
      record("a"),
      record("b", { container_id: null, observed_state: "pending", started_at: null }),
      record("c", { observed_state: "exited", started_at: now }),
    ];
    const plan = planImage({
      image: image({ desired_instances: 3 }),
      records,
      containers: [container("c-a", "a", {}, "h-old"), container("c-c", "c", { state: "exited" })],
      desiredHash,
      now,
      waitFor,
    });
    // a runs an old spec: not replaced; b has no container: none made; c exited: restarted.
    expect(plan.actions).toEqual([
      { kind: "startContainer", instanceId: "c", containerId: "c-c", reason: "restart" },
    ]);
  });

  it("keeps an image being deleted whole while its dependents being deleted remain", () => {
    const plan = planImage({
      image: image({ status: "deleting" }),
      records: [record("a")],
      containers: [container("c-a", "a")],
      desiredHash,
      now,
      waitFor: { dependencies: false, dependents: true },
    });
    expect(plan.actions).toEqual([]);
  });
});

describe("scaleDownOrder", () => {
  it("breaks ties by newest first", () => {
    const records = [
      record("a", { created_at: new Date(1) }),
      record("b", { created_at: new Date(2) }),
    ];
    expect(scaleDownOrder(records, () => container("x", "x")).map((r) => r.id)).toEqual(["b", "a"]);
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests: a small pure simulator applies plans the way the reconciler would, assuming
// every Docker call succeeds, and checks that repeated planning converges.

type World = {
  records: InstanceRecord[];
  containers: ContainerSnapshot[];
  deleted: boolean;
  nextId: number;
};

function apply(world: World, actions: readonly Action[], hash: string | undefined): World {
  let { records, containers, nextId } = world;
  let deleted = world.deleted;
  const newContainer = (instanceId: string): ContainerSnapshot => {
    nextId += 1;
    return container(
      `n${nextId}`,
      instanceId,
      { createdAt: new Date(now.getTime() + nextId) },
      hash ?? "none",
    );
  };
  for (const action of actions) {
    switch (action.kind) {
      case "removeStray":
        containers = containers.filter((c) => c.id !== action.containerId);
        break;
      case "addInstances":
        for (let i = 0; i < action.count; i++) {
          nextId += 1;
          records = [
            ...records,
            record(`r${nextId}`, {
              container_id: null,
              observed_state: "pending",
              started_at: null,
              created_at: new Date(now.getTime() + nextId),
            }),
          ];
        }
        break;
      case "removeInstance":
        containers = containers.filter((c) => c.labels[labelKeys.instanceId] !== action.instanceId);
        records = records.filter((r) => r.id !== action.instanceId);
        break;
      case "createContainer":
      case "replaceContainer": {
        containers = containers.filter((c) => c.labels[labelKeys.instanceId] !== action.instanceId);
        const created = newContainer(action.instanceId);
        containers = [...containers, created];
        records = records.map((r) =>
          r.id === action.instanceId
            ? { ...r, container_id: created.id, health: "unknown" as const, started_at: now }
            : r,
        );
        break;
      }
      case "startContainer":
        containers = containers.map((c) =>
          c.id === action.containerId ? { ...c, state: "running" } : c,
        );
        break;
      case "stopContainer":
        containers = containers.map((c) =>
          c.id === action.containerId ? { ...c, state: "exited" } : c,
        );
        break;
      case "finishImageDeletion":
        deleted = true;
        break;
    }
  }
  return { records, containers, deleted, nextId };
}

const states: ContainerState[] = ["created", "running", "exited", "dead", "paused"];

const worldArbitrary = fc
  .record({
    desired: fc.integer({ min: 0, max: 6 }),
    extraMax: fc.integer({ min: 0, max: 4 }),
    deleting: fc.boolean(),
    records: fc.array(
      fc.record({
        desiredState: fc.constantFrom("running", "stopped"),
        marked: fc.boolean(),
        health: fc.constantFrom("unknown", "healthy", "unhealthy"),
        containers: fc.array(
          fc.record({ state: fc.constantFrom(...states), current: fc.boolean() }),
          { maxLength: 2 },
        ),
      }),
      { maxLength: 8 },
    ),
    orphans: fc.array(fc.constantFrom(...states), { maxLength: 3 }),
    imageRunnable: fc.boolean(),
  })
  .map((spec) => {
    let n = 0;
    const records: InstanceRecord[] = [];
    const containers: ContainerSnapshot[] = [];
    for (const r of spec.records) {
      n += 1;
      const id = `s${n}`;
      const own = r.containers.map((c, index) =>
        container(
          `c${n}-${index}`,
          id,
          { state: c.state, createdAt: new Date(now.getTime() - 1000 * (index + 1)) },
          c.current ? desiredHash : "h-old",
        ),
      );
      containers.push(...own);
      records.push(
        record(id, {
          desired_state: r.desiredState as "running" | "stopped",
          deletion_requested_at: r.marked ? now : null,
          deletion_reason: r.marked ? "scale_down" : null,
          health: r.health as InstanceRecord["health"],
          container_id: own[0]?.id ?? null,
          created_at: new Date(now.getTime() - n * 1000),
        }),
      );
    }
    for (const [index, state] of spec.orphans.entries())
      containers.push(container(`o${index}`, `gone${index}`, { state }));
    return {
      image: image({
        desired_instances: spec.desired,
        max_instances: Math.max(1, spec.desired + spec.extraMax),
        status: spec.deleting ? "deleting" : "ready",
      }),
      world: { records, containers, deleted: false, nextId: 100 } as World,
      hash: spec.imageRunnable ? desiredHash : undefined,
    };
  });

describe("planImage properties", () => {
  it("converges to exactly the desired state, after which the plan is empty", () => {
    fc.assert(
      fc.property(worldArbitrary, ({ image: img, world: start, hash }) => {
        let world = start;
        for (let pass = 0; pass < 12; pass++) {
          // Time passes between passes: a new instance counts once it has run min_ready.
          const plan = planImage({
            image: img,
            records: world.records,
            containers: world.containers,
            desiredHash: hash,
            now: new Date(now.getTime() + pass * 60_000),
          });
          if (plan.actions.length === 0 || world.deleted) break;
          world = apply(world, plan.actions, hash);
          const live = world.records.filter((r) => r.deletion_requested_at === null);
          expect(live.length).toBeLessThanOrEqual(
            Math.max(img.max_instances, start.records.length),
          );
        }
        if (img.status === "deleting") {
          // The image row is gone once deletion finishes: nothing left to plan.
          expect(world.deleted).toBe(true);
          expect(world.records).toEqual([]);
          expect(world.containers).toEqual([]);
          return;
        }
        const final = planImage({
          image: img,
          records: world.records,
          containers: world.containers,
          desiredHash: hash,
          now: new Date(now.getTime() + 12 * 60_000),
        });
        expect(final.actions).toEqual([]);
        const live = world.records.filter((r) => r.deletion_requested_at === null);
        expect(world.records).toEqual(live);
        expect(live).toHaveLength(img.desired_instances);
        const owners = world.containers.map((c) => c.labels[labelKeys.instanceId]);
        expect(new Set(owners).size).toBe(owners.length); // no duplicates
        for (const owner of owners) expect(live.some((r) => r.id === owner)).toBe(true); // no orphans
        for (const r of live) {
          const own = world.containers.find((c) => c.labels[labelKeys.instanceId] === r.id);
          if (r.desired_state === "stopped") {
            expect(
              own === undefined || !["running", "paused", "restarting"].includes(own.state),
            ).toBe(true);
          } else if (hash !== undefined) {
            expect(own?.state === "running" || own?.state === "paused").toBe(true);
            expect(own?.labels[labelKeys.specHash]).toBe(hash);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never creates or replaces while the image cannot run", () => {
    fc.assert(
      fc.property(worldArbitrary, ({ image: img, world }) => {
        const plan = planImage({
          image: img,
          records: world.records,
          containers: world.containers,
          desiredHash: undefined,
          now,
        });
        expect(
          plan.actions.some((a) => a.kind === "createContainer" || a.kind === "replaceContainer"),
        ).toBe(false);
      }),
    );
  });

  it("never plans more live instances than max_instances", () => {
    fc.assert(
      fc.property(worldArbitrary, ({ image: img, world, hash }) => {
        const plan = planImage({
          image: img,
          records: world.records,
          containers: world.containers,
          desiredHash: hash,
          now,
        });
        const added = plan.actions.reduce(
          (sum, a) => sum + (a.kind === "addInstances" ? a.count : 0),
          0,
        );
        const removed = plan.actions.filter((a) => a.kind === "removeInstance" && a.mark).length;
        const live = world.records.filter((r) => r.deletion_requested_at === null).length;
        if (img.status !== "deleting")
          expect(live + added - removed).toBeLessThanOrEqual(img.max_instances);
      }),
    );
  });
});

describe("planImage with a pool", () => {
  const pool = { min_idle: 2, max: 4, claim_ttl: "1h", recycle: "restart" as const };
  const pooled = image({ desired_instances: 1, container_options: { pool } });
  const up = (records: InstanceRecord[]) => records.map((r) => container(`c-${r.id}`, r.id));

  it("keeps min_idle unclaimed instances beside the claimed ones, ignoring desired_instances", () => {
    const records = [record("a", { claim_key: "p1", claim_id: "x" }), record("b")];
    const plan = planImage({ image: pooled, records, containers: up(records), desiredHash, now });
    expect(plan.actions).toEqual([{ kind: "addInstances", count: 1 }]);
  });

  it("never grows past max, and never scales a claimed instance down", () => {
    const claimed = ["a", "b", "c"].map((id) =>
      record(id, { claim_key: `p-${id}`, claim_id: id, created_at: new Date(now.getTime() + 1) }),
    );
    const records = [...claimed, record("d"), record("e")];
    const plan = planImage({ image: pooled, records, containers: up(records), desiredHash, now });
    const removed = plan.actions.filter((action) => action.kind === "removeInstance");
    expect(removed).toHaveLength(1);
    expect(["d", "e"]).toContain((removed[0] as { instanceId: string }).instanceId);
  });

  it("recycles a released instance with a fresh container", () => {
    const records = [record("a", { recycle_requested_at: now }), record("b")];
    const plan = planImage({ image: pooled, records, containers: up(records), desiredHash, now });
    expect(plan.actions).toEqual([
      { kind: "replaceContainer", instanceId: "a", containerId: "c-a", reason: "recycle" },
    ]);
  });

  it("rolls a pool in place even with max_unavailable 0: its instances are handed out by id", () => {
    const startFirstPool = image({
      desired_instances: 1,
      container_options: {
        pool,
        rollout: { max_surge: 2, max_unavailable: 0, min_ready: "0s", progress_deadline: "10m" },
      },
    });
    const records = [record("a"), record("b")];
    const containers = records.map((r) => container(`c-${r.id}`, r.id, {}, "h-old"));
    const plan = planImage({ image: startFirstPool, records, containers, desiredHash, now });
    expect(kinds(plan.actions)).toEqual(["replaceContainer"]);
  });

  it("rolls a spec change to idle instances only: a claimed one keeps its container", () => {
    const records = [record("a", { claim_key: "p1", claim_id: "x" }), record("b"), record("c")];
    const containers = records.map((r) => container(`c-${r.id}`, r.id, {}, "h-old"));
    const plan = planImage({ image: pooled, records, containers, desiredHash, now });
    const replaced = plan.actions
      .filter((action) => action.kind === "replaceContainer")
      .map((action) => (action as { instanceId: string }).instanceId);
    expect(replaced).not.toContain("a");
    expect(replaced.length).toBeGreaterThan(0);
  });
});
