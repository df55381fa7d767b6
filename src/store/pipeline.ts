import type { CompiledQuery, DatabaseConnection, QueryResult } from "kysely";
import type { Executor } from "./executor.ts";

/** A connection that takes several statements at once (a Postgres server's, postgres-backend.ts). */
export type PipeliningConnection = DatabaseConnection & { readonly pipelines: true };

export function pipelines(connection: DatabaseConnection): connection is PipeliningConnection {
  return (connection as Partial<PipeliningConnection>).pipelines === true;
}

/**
 * Runs statements in order on the executor's connection (in a transaction: its connection),
 * each still a statement of its own, and each started only once the one before has ended: under
 * READ COMMITTED a later statement's snapshot includes what committed while an earlier one
 * waited for a lock. Where the connection pipelines (a Postgres server) they are sent together,
 * one round trip for all; on PGlite one call each. When one fails, its error is the answer (those
 * after it fail too: the transaction is aborted).
 */
export async function runInOrder(
  db: Executor,
  queries: readonly CompiledQuery[],
): Promise<QueryResult<Record<string, unknown>>[]> {
  const executor = db.getExecutor();
  const results = await executor.provideConnection(async (connection) => {
    if (!pipelines(connection)) {
      const inOrder: QueryResult<Record<string, unknown>>[] = [];
      for (const query of queries) inOrder.push(await connection.executeQuery(query));
      return inOrder;
    }
    const settled = await Promise.allSettled(
      queries.map((query) => connection.executeQuery<Record<string, unknown>>(query)),
    );
    return settled.map((result) => {
      if (result.status === "rejected") throw result.reason;
      return result.value;
    });
  });
  // The plugins see each result, as they do through kysely (compile() showed them each query).
  const transformed: QueryResult<Record<string, unknown>>[] = [];
  for (const [index, result] of results.entries()) {
    let current = result;
    const queryId = queries[index]?.queryId;
    if (queryId !== undefined) {
      for (const plugin of executor.plugins) {
        current = (await plugin.transformResult({ queryId, result: current })) as typeof current;
      }
    }
    transformed.push(current);
  }
  return transformed;
}
