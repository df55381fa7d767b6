import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { fencedRuntime, fencedStore, lockFence } from "../../src/controller/fencing.ts";
import { createContainerRuntime } from "../../src/docker/runtime.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import { type LeaderLock, LeadershipLostError } from "../../src/store/sql-backend.ts";
import { createScratchDatabase } from "../support/databases.ts";
import { docker } from "../support/docker-helpers.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { services } from "../support/services.ts";
import { type SocketProxy, startSocketProxy } from "../support/socket-proxy.ts";
import { testImages } from "../support/test-images.ts";
import { removeManagedContainers } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/**
 * The leader lock on a real Postgres server, and the fencing built on it: the pieces the
 * controller's leadership rests on, each shown failing the way production fails.
 */
describe.runIf(services().postgres.ok)("the leader lock on a Postgres server", () => {
  const orchestratorId = testOrchestratorId("lease");
  const lease = { key: 424_242, name: `controller:${orchestratorId}`, holder: "test" };
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => removeManagedContainers(orchestratorId));

  async function scratch() {
    const database = await createScratchDatabase();
    cleanups.push(database.drop);
    return database;
  }
  async function open(url: string, options: { checkTimeoutMs?: number } = {}): Promise<Store> {
    const store = await openStore({
      kind: "postgres",
      url,
      leaderCheckTimeoutMs: options.checkTimeoutMs ?? 1_000,
      leaderProbeIntervalMs: 500,
    });
    cleanups.push(() => store.close());
    return store;
  }
  async function admin(url: string) {
    const client = postgres(url, { max: 1, onnotice: () => {} });
    cleanups.push(() => client.end());
    return client;
  }
  async function take(store: Store): Promise<LeaderLock> {
    const lock = await store.tryLeaderLock(lease);
    if (lock === undefined) throw new Error("expected to take the lock");
    cleanups.push(() => lock.release());
    return lock;
  }
  /** The session holding the lease's advisory lock. */
  const leaderSessionPid = async (sql: postgres.Sql) =>
    (
      await sql<Array<{ pid: number }>>`
        select pid from pg_locks
        where locktype = 'advisory' and granted and objid = ${lease.key} and objsubid = 1
          and database = (select oid from pg_database where datname = current_database())`
    ).map((row) => row.pid);

  it("is taken by one process at a time, and every new holder gets a higher epoch", async () => {
    const database = await scratch();
    const [first, second] = [await open(database.url), await open(database.url)];
    const held = await take(first);
    expect(await second.tryLeaderLock(lease)).toBeUndefined();
    await held.confirm();
    await held.release();
    const next = await take(second);
    expect(next.epoch).toBe(held.epoch + 1);
    // The first holder's term is over: it can prove nothing any more.
    await expect(held.confirm()).rejects.toThrow();
  });

  it("is lost when its session is ended, and stays lost after the driver reconnects", async () => {
    const database = await scratch();
    const [first, second] = [await open(database.url), await open(database.url)];
    const sql = await admin(database.url);
    const held = await take(first);
    const [pid] = await leaderSessionPid(sql);
    await sql`select pg_terminate_backend(${pid ?? 0})`;
    await held.lost;
    const successor = await waitFor(
      () => second.tryLeaderLock(lease),
      (lock) => lock !== undefined,
      { what: "the successor to take the lock" },
    );
    if (successor !== undefined) cleanups.push(() => successor.release());
    expect(successor?.epoch).toBe(held.epoch + 1);
    await expect(held.confirm()).rejects.toBeInstanceOf(LeadershipLostError);
  });

  it("counts a check that gets no answer in time as lost (statement timeout)", async () => {
    const database = await scratch();
    const store = await open(database.url, { checkTimeoutMs: 1_000 });
    const held = await take(store);
    // Another session locks the lease table: the leader's next check blocks on it.
    const blocker = await admin(database.url);
    let locked: () => void = () => {};
    const tableLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const blocked = blocker.begin(async (tx) => {
      await tx`lock table leader_leases in access exclusive mode`;
      locked();
      await held.lost; // released only once the leader gave up
    });
    await tableLocked;
    await expect(held.confirm()).rejects.toBeInstanceOf(LeadershipLostError);
    await held.lost;
    await blocked;
  });

  it("fences a deposed leader: no Docker write, no committed transaction", async () => {
    const database = await scratch();
    const [first, second] = [await open(database.url), await open(database.url)];
    const sql = await admin(database.url);
    const held = await take(first);
    const runtime = fencedRuntime(createContainerRuntime(docker), lockFence(held));
    const store = fencedStore(first, { name: lease.name, epoch: held.epoch });

    // While it leads, its writes go through.
    await store.transaction((tx) => tx.images.notifyChanged(1));

    // Deposed: its session ends and a successor takes the lease (the old process has not
    // noticed anything: nothing told it).
    const [pid] = await leaderSessionPid(sql);
    await sql`select pg_terminate_backend(${pid ?? 0})`;
    const successor = await waitFor(
      () => second.tryLeaderLock(lease),
      (lock) => lock !== undefined,
      { what: "the successor to take the lock" },
    );
    if (successor !== undefined) cleanups.push(() => successor.release());

    const name = `${orchestratorId}-deposed-${randomBytes(3).toString("hex")}`;
    await expect(
      runtime.create({
        name,
        image: testImages.httpd,
        env: {},
        labels: { "managed-by": orchestratorId },
        containerPort: 8080,
        publishIp: "127.0.0.1",
        nanoCpus: 100_000_000,
        memoryBytes: 16 * 1024 * 1024,
        network: { name: `${orchestratorId}-deposed`, labels: { "managed-by": orchestratorId } },
        pidsLimit: 64,
        openFilesLimit: 1024,
        diskLimit: undefined,
      }),
    ).rejects.toBeInstanceOf(LeadershipLostError);
    expect(await createContainerRuntime(docker).inspect(name)).toBeUndefined();
    await expect(store.transaction((tx) => tx.images.notifyChanged(1))).rejects.toBeInstanceOf(
      LeadershipLostError,
    );
  });

  describe("behind a network partition", () => {
    let proxy: SocketProxy;
    afterEach(async () => {
      proxy?.restore();
      await proxy?.close();
    });

    it("stops the partitioned leader's writes, and the server frees the lock for a successor", async () => {
      const database = await scratch();
      const url = new URL(database.url);
      proxy = await startSocketProxy({ host: url.hostname, port: Number(url.port || 5432) });
      const throughProxy = new URL(database.url);
      throughProxy.port = String(proxy.port);
      const partitioned = await open(throughProxy.toString());
      const other = await open(database.url);
      const sql = await admin(database.url);
      const held = await take(partitioned);
      const runtime = fencedRuntime(createContainerRuntime(docker), lockFence(held));

      proxy.blackhole();
      // Its check gets no answer: no Docker write from it any more.
      await expect(runtime.remove("no-such-container")).rejects.toBeInstanceOf(LeadershipLostError);
      await held.lost;
      // The server still sees the session (until its keepalives give up): nobody else leads
      // meanwhile. Once the session is gone, the successor leads with a higher epoch.
      expect(await other.tryLeaderLock(lease)).toBeUndefined();
      const [pid] = await leaderSessionPid(sql);
      await sql`select pg_terminate_backend(${pid ?? 0})`;
      const successor = await waitFor(
        () => other.tryLeaderLock(lease),
        (lock) => lock !== undefined,
        { what: "the successor to take the lock" },
      );
      if (successor !== undefined) cleanups.push(() => successor.release());
      expect(successor?.epoch).toBe(held.epoch + 1);
    });
  });
});
