import { type QueryExecutorProvider, sql } from "kysely";

/** Sends a NOTIFY; inside a transaction it is delivered on commit, on both backends. */
export async function notify(
  executor: QueryExecutorProvider,
  channel: string,
  payload: string,
): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(executor);
}
