import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { reconnectBackoff } from "../../src/store/postgres-reconnect.ts";
import { postgresUrl, services } from "../support/services.ts";
import { startSocketProxy } from "../support/socket-proxy.ts";

/**
 * What kysely-postgres-js does for every query (reserve a connection, run, release) while the
 * server ends sessions under it (pg_terminate_backend, a failover, a restart). Unpatched
 * postgres.js 3.4.9 strands a reserve that waits on a connection that closes (upstream #1195),
 * lets a stale reservation write onto the connection after it reconnected for somebody else,
 * and leaves queries queued on a reserved connection pending for ever: API requests that hang
 * until the client gives up. A new connection that dies during its own array-types query left
 * an unhandled rejection, which ends the process (#1192, #1223). patches/postgres+3.4.9.patch fixes them; these check the fixes on
 * the real server.
 */
describe.runIf(services().postgres.ok)("the Postgres driver under terminated sessions", () => {
  let sql: postgres.Sql;
  let admin: postgres.Sql;
  let applicationName: string;
  beforeEach(() => {
    applicationName = `driver-test-${randomBytes(4).toString("hex")}`;
    sql = postgres(postgresUrl(), {
      max: 1,
      onnotice: () => {},
      connection: { application_name: applicationName },
    });
    admin = postgres(postgresUrl(), { max: 1, onnotice: () => {} });
  });
  afterEach(async () => {
    await sql.end({ timeout: 1 });
    await admin.end();
  });

  const terminate = async () => {
    const ended = await admin<Array<{ pid: number }>>`
      with ours as materialized (
        select pid from pg_stat_activity where application_name = ${applicationName}
      )
      select pid from ours where pg_terminate_backend(pid)`;
    expect(ended.length).toBe(1);
  };
  /** Settles `promise` or says it is still pending after `ms`. */
  const within = <T>(promise: Promise<T>, ms = 15_000) =>
    Promise.race([
      promise.then(
        (value) => ({ settled: "fulfilled" as const, value }),
        (error: Error) => ({ settled: "rejected" as const, error }),
      ),
      new Promise<{ settled: "pending" }>((resolve) =>
        setTimeout(() => resolve({ settled: "pending" }), ms),
      ),
    ]);

  it("gives a waiting reserve the connection once it reconnects after being terminated", async () => {
    const first = await sql.reserve();
    await first`select 1`;
    const waiting = sql.reserve();
    await terminate();
    // The holder learns the connection is gone; its release must not hand it out twice.
    expect((await within(first`select 1`)).settled).toBe("rejected");
    first.release();
    const second = await within(waiting);
    expect(second.settled).toBe("fulfilled");
    if (second.settled !== "fulfilled") return;
    // Released in the moment between the socket's error and its close, the connection it got
    // may still be the dying one: its query then fails at once. It never waits for ever.
    const answer = await within(second.value`select 2 as two`);
    if (answer.settled === "rejected") expect(answer.error.message).toMatch(/CONNECTION_CLOSED/);
    else expect(answer).toEqual({ settled: "fulfilled", value: [{ two: 2 }] });
    second.value.release();
    expect(await sql`select 3 as three`).toEqual([{ three: 3 }]);
  });

  it("never lets a stale reservation write onto the connection that reconnected for another", async () => {
    const stale = await sql.reserve();
    await stale`select 1`;
    await terminate();
    expect((await within(stale`select 1`)).settled).toBe("rejected");
    const fresh = await sql.reserve();
    await fresh`begin`;
    await fresh`create temporary table owned_by_fresh (n int)`;
    // The stale handle fails at once instead of running inside fresh's transaction.
    const late = await within(stale`insert into owned_by_fresh values (1)`);
    expect(late.settled).toBe("rejected");
    stale.release();
    // Its release did not give fresh's connection to the pool: fresh still owns it alone.
    const pooled = within(sql`select 4 as four`, 500);
    expect(await fresh`select count(*)::int as n from owned_by_fresh`).toEqual([{ n: 0 }]);
    expect((await pooled).settled).toBe("pending");
    await fresh`rollback`;
    fresh.release();
    expect(await sql`select 5 as five`).toEqual([{ five: 5 }]);
  });

  it("rejects the queries queued on a reserved connection when it closes", async () => {
    const reserved = await sql.reserve();
    await reserved`select 1`;
    // The first sleeps far longer than the test: all three are still waiting when it ends.
    const queued = [reserved`select pg_sleep(60)`, reserved`select 1`, reserved`select 2`];
    const settled = Promise.all(queued.map((query) => within(query)));
    await terminate();
    for (const outcome of await settled) expect(outcome.settled).toBe("rejected");
    reserved.release();
    expect(await sql`select 6 as six`).toEqual([{ six: 6 }]);
  });

  it.each([
    // The query was the connection's first: it fails with the reset, as on any reset connection.
    [
      "a query",
      (pool: postgres.Sql) => pool`select 9 as nine`,
      { settled: "rejected", error: expect.objectContaining({ code: "ECONNRESET" }) },
    ],
    // kysely-postgres-js reserves a connection for each query: the reserve waits for the next.
    [
      "a reserve",
      async (pool: postgres.Sql) => {
        const reserved = await pool.reserve();
        try {
          return await reserved`select 9 as nine`;
        } finally {
          reserved.release();
        }
      },
      { settled: "fulfilled", value: [{ nine: 9 }] },
    ],
  ])(
    "settles %s whose new connection dies while fetching the array types, with no unhandled rejection",
    async (_, run, outcome) => {
      const server = new URL(postgresUrl());
      const proxy = await startSocketProxy({ host: server.hostname, port: Number(server.port) });
      const viaProxy = new URL(postgresUrl());
      viaProxy.port = String(proxy.port);
      // Unpatched, the failed types query is a promise nobody awaits: it would end the process.
      const unhandled: unknown[] = [];
      const record = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", record);
      const pool = postgres(viaProxy.toString(), { max: 1, onnotice: () => {} });
      try {
        // The first statement of every new connection is the driver's own array-types query.
        proxy.resetWhenClientSends("pg_catalog.pg_type");
        expect(await within(run(pool))).toEqual(outcome);
        // Reported by now if it happened (after the microtasks of the turn that rejected it).
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
        expect(await pool`select 10 as ten`).toEqual([{ ten: 10 }]);
      } finally {
        process.off("unhandledRejection", record);
        await pool.end({ timeout: 1 });
        await proxy.close();
      }
    },
  );

  it("fails reserves while the server is away and gives every connection back once it returns", async () => {
    const server = new URL(postgresUrl());
    const proxy = await startSocketProxy({ host: server.hostname, port: Number(server.port) });
    const viaProxy = new URL(postgresUrl());
    viaProxy.port = String(proxy.port);
    // The store's back-off: the driver's own waits 10-20 s after the failures below.
    const pool = postgres(viaProxy.toString(), {
      max: 2,
      onnotice: () => {},
      connect_timeout: 5,
      backoff: reconnectBackoff,
    });
    try {
      expect(await pool`select 1 as one`).toEqual([{ one: 1 }]);
      proxy.cut();
      // Each reserve fails (a connection attempt refused) or gets the connection that is dying
      // (the reset not read yet), whose query then fails; none waits for ever.
      const attempts = await Promise.all(Array.from({ length: 6 }, () => within(pool.reserve())));
      for (const attempt of attempts) {
        expect(attempt.settled).not.toBe("pending");
        if (attempt.settled !== "fulfilled") continue;
        expect((await within(attempt.value`select 1`)).settled).toBe("rejected");
        attempt.value.release();
      }
      expect(attempts.filter((attempt) => attempt.settled === "rejected").length).toBeGreaterThan(
        3,
      );
      proxy.restore();
      // The failed reserves took no connection with them: both serve again, side by side.
      const [first, second] = await Promise.all([within(pool.reserve()), within(pool.reserve())]);
      expect(first?.settled).toBe("fulfilled");
      expect(second?.settled).toBe("fulfilled");
      for (const held of [first, second]) {
        if (held?.settled !== "fulfilled") continue;
        expect(await held.value`select 7 as seven`).toEqual([{ seven: 7 }]);
        held.value.release();
      }
      expect(await pool`select 8 as eight`).toEqual([{ eight: 8 }]);
    } finally {
      await pool.end({ timeout: 1 });
      await proxy.close();
    }
  });
});
