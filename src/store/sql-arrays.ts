import { type RawBuilder, sql } from "kysely";

/**
 * A list of integers as one `bigint[]` parameter, for `= any(...)` and `<> all(...)`.
 *
 * Sent as the array's text form and cast on the server, so the statement text is the same for
 * every length (one prepared statement, one plan, reused) and the two drivers agree (PGlite's
 * dialect sends every parameter as text; postgres.js would send a JavaScript array as its own
 * array type). An `in (...)` list of 500 would be 500 parameters to compile, send and bind, and a
 * new statement for each length.
 */
export function bigintArray(values: readonly number[]): RawBuilder<number[]> {
  for (const value of values) {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
  }
  return sql<number[]>`${`{${values.join(",")}}`}::bigint[]`;
}

/**
 * A list of strings as one `text[]` parameter, sent as the array's text form like bigintArray
 * (one statement text for every length): each element quoted, its `"` and `\` escaped, so that
 * any string, a comma or a brace in it included, is one element and only itself.
 */
export function textArray(values: readonly string[]): RawBuilder<string[]> {
  const quoted = values.map((value) => `"${value.replaceAll(/["\\]/g, (c) => `\\${c}`)}"`);
  return sql<string[]>`${`{${quoted.join(",")}}`}::text[]`;
}
