import { CompiledQuery, type DatabaseConnection, type Dialect, type QueryResult } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import postgres from "postgres";
import type { PipeliningConnection } from "./pipeline.ts";
import { createLeaderSession, type LeaderSession } from "./postgres-leader-lock.ts";
import { reconnectBackoff } from "./postgres-reconnect.ts";
import type { SqlBackend } from "./sql-backend.ts";

export type PostgresBackendOptions = {
  readonly maxConnections?: number;
  readonly onNotice?: (message: string) => void;
  /** The leader session's check timeout and probe interval (tests shorten them). */
  readonly leaderCheckTimeoutMs?: number;
  readonly leaderProbeIntervalMs?: number;
};

/** A Postgres server reached through postgres.js. int8 values come back as numbers, as on PGlite. */
export async function openPostgresBackend(
  url: string,
  options: PostgresBackendOptions = {},
): Promise<SqlBackend> {
  const client = postgres(url, {
    max: options.maxConnections ?? 10,
    connect_timeout: 10,
    backoff: reconnectBackoff,
    idle_timeout: 60,
    onnotice: (notice) => options.onNotice?.(String(notice.message)),
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number | bigint) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  });
  // Fail at start, with the driver's own reason, when the server cannot be reached.
  await client`select 1`;
  let leaderSession: LeaderSession | undefined;
  return {
    kind: "postgres",
    dialect: tunedDialect(new PostgresJSDialect({ postgres: client })),
    scriptTransaction: async (work) =>
      (await client.begin((transaction) =>
        work({
          exec: async (script) => {
            await transaction.unsafe(script).simple();
          },
          query: async <Row>(text: string, parameters: readonly unknown[] = []) =>
            (await transaction.unsafe(text, parameters as never[])) as unknown as Row[],
        }),
      )) as never,
    listen: async (channel, handler, onResubscribed) => {
      // postgres.js listens again by itself after a lost connection (retrying until the server
      // answers) and calls `onlisten` each time: every call after the first is a comeback.
      let listening = false;
      const subscription = await client.listen(
        channel,
        (payload) => handler(payload),
        () => {
          if (listening) onResubscribed?.();
          listening = true;
        },
      );
      // The listen connection may be gone or poisoned by then: stopping never waits on it long.
      return () => settleWithin(subscription.unlisten(), 2_000);
    },
    tryLeaderLock: (lease) => {
      leaderSession ??= createLeaderSession(url, {
        ...(options.leaderCheckTimeoutMs === undefined
          ? {}
          : { checkTimeoutMs: options.leaderCheckTimeoutMs }),
        ...(options.leaderProbeIntervalMs === undefined
          ? {}
          : { probeIntervalMs: options.leaderProbeIntervalMs }),
      });
      return leaderSession.tryLock(lease);
    },
    close: async () => {
      await leaderSession?.close();
      await client.end({ timeout: 5 });
    },
  };
}

/** Waits for `promise` at most `ms`; never rejects. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * kysely-postgres-js's dialect with two changes:
 *
 * - A transaction's BEGIN goes with its first statement: both are handed to postgres.js in the
 *   same tick, so they leave in one write on the reserved connection and their answers come
 *   back together (one round trip fewer per transaction: every write, reconcile and relay
 *   mark). BEGIN ends before the statement is parsed, so the statement runs in the
 *   transaction; should BEGIN fail, the statement's result is not used and the error is the
 *   BEGIN's. A transaction that ran no statement was never opened: its COMMIT or ROLLBACK is
 *   not sent.
 * - kysely 0.29's Postgres driver marks a connection for discard when ROLLBACK fails, through
 *   a private method that kysely-postgres-js's connection lacks: the TypeError it throws
 *   replaces the real error (a lost connection, which the API answers with 503) and a 500
 *   follows. A failed ROLLBACK here just reports its own error; postgres.js drops the dead
 *   connection.
 */
function tunedDialect(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: () => {
      const driver = dialect.createDriver();
      return {
        init: () => driver.init(),
        destroy: () => driver.destroy(),
        acquireConnection: async () => openingConnection(await driver.acquireConnection()),
        releaseConnection: (connection) =>
          driver.releaseConnection((connection as OpeningConnection).inner),
        beginTransaction: async (connection, settings) => {
          const sql =
            settings.isolationLevel === undefined
              ? "begin"
              : `start transaction isolation level ${settings.isolationLevel}`;
          (connection as OpeningConnection).begin(sql);
        },
        commitTransaction: async (connection) => {
          await (connection as OpeningConnection).end("commit");
        },
        rollbackTransaction: async (connection) => {
          await (connection as OpeningConnection).end("rollback");
        },
        // Savepoints are statements on the connection: the first one carries the BEGIN.
        ...(driver.savepoint === undefined ? {} : { savepoint: driver.savepoint.bind(driver) }),
        ...(driver.rollbackToSavepoint === undefined
          ? {}
          : { rollbackToSavepoint: driver.rollbackToSavepoint.bind(driver) }),
        ...(driver.releaseSavepoint === undefined
          ? {}
          : { releaseSavepoint: driver.releaseSavepoint.bind(driver) }),
      };
    },
  };
}

type OpeningConnection = PipeliningConnection & {
  readonly inner: DatabaseConnection;
  /** Opens a transaction: sent with its first statement. */
  begin(sql: string): void;
  /** Commits or rolls back; a transaction that ran no statement was never opened. */
  end(sql: "commit" | "rollback"): Promise<void>;
};

function openingConnection(inner: DatabaseConnection): OpeningConnection {
  /** The BEGIN of a transaction whose first statement has not been sent yet. */
  let opening: string | undefined;
  return {
    inner,
    // postgres.js sends what it is handed in one tick together and answers in order.
    pipelines: true,
    begin: (sql) => {
      opening = sql;
    },
    end: async (sql) => {
      if (opening !== undefined) {
        opening = undefined;
        return;
      }
      await inner.executeQuery(CompiledQuery.raw(sql));
    },
    executeQuery: async <Row>(compiled: CompiledQuery): Promise<QueryResult<Row>> => {
      if (opening === undefined) return inner.executeQuery<Row>(compiled);
      const begin = CompiledQuery.raw(opening);
      opening = undefined;
      const [begun, result] = await Promise.allSettled([
        inner.executeQuery(begin),
        inner.executeQuery<Row>(compiled),
      ]);
      if (begun.status === "rejected") throw begun.reason;
      if (result.status === "rejected") throw result.reason;
      return result.value;
    },
    async *streamQuery<Row>(compiled: CompiledQuery, chunkSize: number) {
      if (opening !== undefined) {
        const begin = CompiledQuery.raw(opening);
        opening = undefined;
        await inner.executeQuery(begin);
      }
      yield* inner.streamQuery<Row>(compiled, chunkSize);
    },
  };
}
