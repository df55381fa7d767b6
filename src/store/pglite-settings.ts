import { PGlite } from "@electric-sql/pglite";

/**
 * How the embedded Postgres is sized for this service: a few small tables and an event log, one
 * connection, one process. Measured on PGlite 0.4 (Postgres 17 in WebAssembly):
 *
 * - `shared_buffers` 16 MB instead of 128 MB. PGlite zeroes the whole shared memory segment at
 *   every start (a memset in WebAssembly: most of the open's CPU with 128 MB) and those pages stay
 *   resident, so the default cost ~110 MiB of RSS and ~0.4 s per start. The tables here fit many
 *   times over; a page that is not cached is one read of the data folder.
 * - `max_wal_size` 64 MB: a standalone backend checkpoints when the WAL reaches it, so this bounds
 *   both the folder's size and the WAL replayed after a kill -9 (the default 1 GB could make a
 *   restart replay a gigabyte). `min_wal_size` keeps a few recycled segments, not 80 MB of them.
 * - Everything else stays as PGlite sets it (single user, no fsync: PGlite never syncs).
 */
export const pgliteStartParams: readonly string[] = [
  ...PGlite.defaultStartParams,
  ...["-c", "shared_buffers=16MB"],
  ...["-c", "max_wal_size=64MB"],
  ...["-c", "min_wal_size=16MB"],
];

/**
 * initdb's options for a new cluster (the template and the fallback alike): 1 MB WAL segments
 * instead of 16 MB, so a new data folder carries 1 MB of WAL per segment rather than 16.
 */
export const pgliteInitdbParams: readonly string[] = ["--wal-segsize=1"];

/**
 * Types whose text our queries read back, by oid: the scalar types PGlite has parsers for.
 * Anything else (uuid, numeric, …) stays the string Postgres sent, as it would with the full table.
 */
const returnedTypeOids = [
  16, // bool
  17, // bytea
  20, // int8
  21, // int2
  23, // int4
  25, // text
  26, // oid
  114, // json
  700, // float4
  701, // float8
  1043, // varchar
  1082, // date
  1114, // timestamp
  1184, // timestamptz
  3802, // jsonb
] as const;

/**
 * PGlite copies its whole parser table into a new object for every query it answers
 * (`{ ...this.parsers, ...options.parsers }` in parseResults). After start that table holds 323
 * entries (every type and array type of the catalog, keyed by oid), and copying it costs more
 * than the query itself: ~0.3–0.8 ms each, three quarters of a `select 1`. We read back only a
 * few scalar types (no arrays), so the table is cut to those; their parsers are PGlite's own.
 */
export function keepOnlyReturnedTypeParsers(client: PGlite): void {
  const all = client.parsers;
  const kept: Record<number, (typeof all)[number]> = {};
  for (const oid of returnedTypeOids) {
    const parser = all[oid];
    if (parser !== undefined) kept[oid] = parser;
  }
  client.parsers = kept;
}
