import { type RawBuilder, sql } from "kysely";

/**
 * A jsonb value for an insert or update. Sent as text and cast on the server, because the two
 * drivers disagree on bare parameters (postgres.js sends arrays as Postgres arrays; both
 * re-encode strings): this form means the same on PGlite and on a Postgres server.
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`${JSON.stringify(value)}::text::jsonb`;
}
