import postgres from "postgres";
import { reconnectBackoff } from "./postgres-reconnect.ts";
import { type LeaderLock, LeadershipLostError, type LeaseRequest } from "./sql-backend.ts";

export type LeaderSessionOptions = {
  /** How long a check (or the lock query) may take before the lock counts as lost. */
  readonly checkTimeoutMs?: number;
  /** How often the held lock is checked when nobody asks. */
  readonly probeIntervalMs?: number;
};

/**
 * The connection settings of the leader session. The lock lives exactly as long as this one
 * session, so it is never recycled (`max_lifetime` and `idle_timeout` off: postgres.js would
 * otherwise end it after 30–60 minutes and depose a healthy leader), its statements time out on
 * the server, and both ends use TCP keepalives so that a partitioned peer is noticed: the
 * server ends a silent session after about 25 s, which frees the lock for a successor.
 */
export function leaderSessionSettings(checkTimeoutMs: number) {
  return {
    max: 1,
    max_lifetime: null,
    connect_timeout: 10,
    backoff: reconnectBackoff,
    keep_alive: 10,
    fetch_types: false,
    connection: {
      application_name: "orchestrator-leader",
      statement_timeout: checkTimeoutMs,
      tcp_keepalives_idle: 10,
      tcp_keepalives_interval: 5,
      tcp_keepalives_count: 3,
    },
  } as const;
}

/**
 * Single flight with a trailing run: a call while a check is on the wire (it started before the
 * call, so its answer may predate the call) waits for the next check, shared by every call
 * that arrived meanwhile.
 */
function freshChecks(check: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const start = () => {
    const run: Promise<void> = check().finally(() => {
      if (current === run) current = undefined;
    });
    current = run;
    return run;
  };
  return () => {
    if (current === undefined) return start();
    queued ??= current
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return start();
      });
    return queued;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The leader lock on a Postgres server: a session-level advisory lock on a dedicated session,
 * and the lease row whose epoch it bumps (the fencing token). `confirm()` proves, with a fresh
 * round trip on that very session, that the session still holds the lock (pg_locks of
 * pg_backend_pid(): a silently reconnected session would not) and that the epoch is still
 * ours. Any failure, including no answer in time, loses the lock for good.
 */
export function createLeaderSession(url: string, options: LeaderSessionOptions = {}) {
  const checkTimeoutMs = options.checkTimeoutMs ?? 5_000;
  const probeIntervalMs = options.probeIntervalMs ?? 5_000;
  let onSessionClosed: () => void = () => {};
  const client = postgres(url, {
    ...leaderSessionSettings(checkTimeoutMs),
    onnotice: () => {},
    onclose: () => onSessionClosed(),
  });

  async function tryLock(lease: LeaseRequest): Promise<LeaderLock | undefined> {
    // One statement: the lock and the epoch bump happen on the same session or not at all.
    const rows = await withTimeout(
      client<Array<{ epoch: string }>>`
        with lock as (select pg_try_advisory_lock(${lease.key}::bigint) as locked)
        insert into leader_leases (name, epoch, holder)
        select ${lease.name}, 1, ${lease.holder} from lock where locked
        on conflict (name) do update
          set epoch = leader_leases.epoch + 1, holder = excluded.holder, acquired_at = now()
        returning epoch::text
      `,
      checkTimeoutMs + 1_000,
      "leader lock",
    ).catch(async (error: unknown) => {
      // A session lock taken by a failed statement stays taken: give it back.
      await client`select pg_advisory_unlock(${lease.key}::bigint)`.catch(() => {});
      throw error;
    });
    const epoch = Number(rows[0]?.epoch);
    if (!Number.isFinite(epoch)) return undefined;

    let lostReason: string | undefined;
    let released = false;
    let probe: NodeJS.Timeout | undefined;
    let markLost: () => void = () => {};
    const lost = new Promise<void>((resolve) => {
      markLost = resolve;
    });
    const lose = (reason: string) => {
      if (lostReason !== undefined || released) return;
      lostReason = reason;
      clearInterval(probe);
      markLost();
    };
    onSessionClosed = () => lose("the leader session closed");

    const check = async () => {
      if (released) throw new LeadershipLostError("the lock was released");
      if (lostReason !== undefined) throw new LeadershipLostError(lostReason);
      let row: { held: boolean; epoch: string | null } | undefined;
      try {
        [row] = await withTimeout(
          client<Array<{ held: boolean; epoch: string | null }>>`
            select
              exists (
                select 1 from pg_locks
                where locktype = 'advisory' and granted and pid = pg_backend_pid()
                  and objsubid = 1
                  and classid::bigint = ((${lease.key}::bigint >> 32) & 4294967295)
                  and objid::bigint = (${lease.key}::bigint & 4294967295)
              ) as held,
              (select epoch::text from leader_leases where name = ${lease.name}) as epoch
          `,
          checkTimeoutMs + 1_000,
          "leader check",
        );
      } catch (error) {
        lose(`leader check failed: ${(error as Error).message}`);
        throw new LeadershipLostError(lostReason ?? "leader check failed", { cause: error });
      }
      if (row?.held !== true) lose("the leader session no longer holds the lock");
      else if (Number(row.epoch) !== epoch)
        lose(`a newer leader took over (epoch ${row.epoch}, ours ${epoch})`);
      if (lostReason !== undefined) throw new LeadershipLostError(lostReason);
    };
    const confirm = freshChecks(check);
    probe = setInterval(() => void confirm().catch(() => {}), probeIntervalMs);
    probe.unref();

    return {
      epoch,
      lost,
      confirm,
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(probe);
        onSessionClosed = () => {};
        await client`select pg_advisory_unlock(${lease.key}::bigint)`.catch(() => {});
      },
    };
  }

  return {
    tryLock,
    close: async () => {
      await Promise.race([
        client.end({ timeout: 2 }).catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, 3_000).unref()),
      ]);
    },
  };
}

export type LeaderSession = ReturnType<typeof createLeaderSession>;
