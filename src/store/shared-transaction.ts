import {
  type CompiledQuery,
  type ConnectionProvider,
  type DatabaseConnection,
  type Driver,
  type KyselyConfig,
  type QueryResult,
  SelectQueryNode,
  sql,
  Transaction,
} from "kysely";
import type { Executor } from "./executor.ts";
import { pipelines } from "./pipeline.ts";
import type { Database } from "./schema.ts";
import { createTogether, type Together } from "./together.ts";

/** A work's outcome in a shared transaction that committed. */
export type SharedOutcome<T> =
  | { readonly status: "committed"; readonly value: T }
  /** It threw having only read: the others committed; its error is its answer. */
  | { readonly status: "refused"; readonly reason: unknown };

/**
 * The shared transaction was rolled back, so none of its works took effect: one of them threw
 * after writing, or a statement failed (which aborts the whole transaction: a lock it could not
 * take within the lock timeout, a deadlock, a lost connection). Each may be run again alone.
 */
export class SharedTransactionRolledBack extends Error {
  constructor(cause: unknown) {
    super("a shared transaction was rolled back", { cause });
  }
}

/** What one work did on the shared connection. */
type WorkTrace = { wrote: boolean };

/**
 * Group commit: several independent works in one transaction, each with its own view of it,
 * their statements sent as they come. On a Postgres server they go down the one connection
 * together (postgres.js pipelines what it is handed in one tick), so N works whose statements
 * start together cost the round trips of one, and one COMMIT; on PGlite they take turns (its
 * connection runs one statement at a time), which still saves N-1 BEGIN/COMMIT pairs.
 *
 * Each work is also handed `together` (together.ts): the steps that the works take at once,
 * such as the row lock, the UPDATE and the event of a count write, go as one statement each.
 *
 * The works must not touch the same rows (the caller keeps them apart: one write per image): in
 * one transaction they do not wait for each other's locks. On a server, waiting on anyone
 * else's lock is bounded by `lockTimeoutMs` (then the statement fails and all is rolled back),
 * so that one work stuck behind a long transaction cannot hold up the others for long (on
 * PGlite nobody else holds a lock: its one connection is this transaction's).
 *
 * Commits when every work resolved, or threw having only read (a refusal decided on what it
 * read: nothing of it is in the transaction). Otherwise rolls back and throws
 * SharedTransactionRolledBack. Other errors (BEGIN or COMMIT failing) are thrown as they are:
 * whether a failed COMMIT took effect is then unknown, as for any transaction.
 */
export async function runSharedTransaction<T>(
  db: Executor,
  works: ReadonlyArray<(tx: Executor, together: Together) => Promise<T>>,
  lockTimeoutMs: number,
): Promise<SharedOutcome<T>[]> {
  return db.transaction().execute(async (trx) => {
    const executor = trx.getExecutor();
    const connection = await executor.provideConnection(async (given) => given);
    const shared = sharedConnection(connection);
    let failedStatement: unknown;
    const traces: WorkTrace[] = works.map(() => ({ wrote: false }));
    const viewOf = (trace: WorkTrace): Executor => {
      const provider: ConnectionProvider = {
        provideConnection: (consumer) =>
          consumer(
            tracingConnection(shared, trace, (error) => {
              failedStatement ??= error;
            }),
          ),
      };
      return new Transaction<Database>({
        // A Transaction runs everything through its executor; kysely 0.29 reads its driver and
        // dialect only in transaction(), connection(), destroy() and introspection, which a
        // Transaction refuses or nothing here calls.
        config: unusedConfig,
        driver: unusedDriver,
        dialect: unusedConfig.dialect,
        executor: executor.withConnectionProvider(provider),
      });
    };
    // On PGlite nobody else holds a lock: its one connection is this transaction's.
    const limited = !pipelines(connection)
      ? Promise.resolve()
      : sql`select set_config('lock_timeout', ${`${Math.ceil(lockTimeoutMs)}ms`}, true)`
          .execute(viewOf({ wrote: false }))
          .then(
            () => undefined,
            (error: unknown) => {
              failedStatement ??= error;
            },
          );
    // The steps the works take together run on a view of their own: a failure of one of
    // those statements is the transaction's, and every caller of a writing one has written.
    const together = createTogether(viewOf({ wrote: false }));
    const settled = await Promise.allSettled(
      works.map((work, index) => {
        const trace = traces[index] as WorkTrace;
        return work(
          viewOf(trace),
          together.forWork(() => {
            trace.wrote = true;
          }),
        );
      }),
    );
    await limited;
    // Statements taken together (together.ts) end before the decision, also those whose works
    // did not wait for them; any of them failing fails the transaction.
    await together.settled();
    failedStatement ??= together.unseenFailure();
    if (failedStatement !== undefined) throw new SharedTransactionRolledBack(failedStatement);
    return settled.map((result, index): SharedOutcome<T> => {
      if (result.status === "fulfilled") return { status: "committed", value: result.value };
      if (traces[index]?.wrote) throw new SharedTransactionRolledBack(result.reason);
      return { status: "refused", reason: result.reason };
    });
  });
}

const unusedConfig = { dialect: {} } as unknown as KyselyConfig;
const unusedDriver = {} as unknown as Driver;

/** The transaction's connection for every work at once: concurrent where it pipelines. */
function sharedConnection(connection: DatabaseConnection): DatabaseConnection {
  if (pipelines(connection)) return connection;
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <R>(run: () => Promise<R>): Promise<R> => {
    const mine = turn.then(run, run);
    turn = mine.catch(() => {});
    return mine;
  };
  return {
    executeQuery: (compiled) => inTurn(() => connection.executeQuery(compiled)),
    streamQuery: (compiled, chunkSize) => connection.streamQuery(compiled, chunkSize),
  };
}

/** The shared connection as one work sees it: what it writes, and any statement that fails. */
function tracingConnection(
  connection: DatabaseConnection,
  trace: WorkTrace,
  failed: (error: unknown) => void,
): DatabaseConnection {
  return {
    ...connection,
    async executeQuery<Row>(compiled: CompiledQuery): Promise<QueryResult<Row>> {
      // Anything but a plain SELECT may write (raw SQL takes locks or inserts).
      if (!SelectQueryNode.is(compiled.query)) trace.wrote = true;
      try {
        return await connection.executeQuery<Row>(compiled);
      } catch (error) {
        failed(error);
        throw error;
      }
    },
    streamQuery: (compiled, chunkSize) => {
      trace.wrote = true;
      return connection.streamQuery(compiled, chunkSize);
    },
  };
}
