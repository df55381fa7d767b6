import { type RawBuilder, sql } from "kysely";
import { withoutNulDeep } from "./nul-bytes.ts";

/**
 * A jsonb value for an insert or update. Sent as text and cast on the server, because the two
 * drivers disagree on bare parameters (postgres.js sends arrays as Postgres arrays; both
 * re-encode strings): this form means the same on PGlite and on a Postgres server. jsonb refuses
 * the NUL character (`\u0000`), so strings lose theirs first (see nul-bytes.ts).
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`${JSON.stringify(withoutNulDeep(value))}::text::jsonb`;
}

/**
 * A json value (its text kept as given, unlike jsonb): for json_to_recordset, whose json
 * columns keep the text of their value (the events' data, see sql/0025).
 */
export function json<T>(value: T): RawBuilder<T> {
  return sql<T>`${JSON.stringify(withoutNulDeep(value))}::text::json`;
}
