import { PGlite } from "@electric-sql/pglite";

/**
 * How the embedded Postgres is sized for this service: a few small tables and an event log, one
 * connection, one process. Measured on PGlite 0.4 (Postgres 17 in WebAssembly):
 *
 * - `shared_buffers` 8 MB instead of 128 MB. PGlite zeroes the whole shared memory segment at
 *   every start (a memset in WebAssembly: most of the open's CPU with 128 MB) and those pages stay
 *   resident, so the default cost ~110 MiB of RSS and ~0.4 s per start (16 MB: 10 MiB more than
 *   8 MB, with API reads and writes on bench/api the same within noise). A page that is not
 *   cached is one read of the data folder, which the OS's page cache serves.
 * - `max_wal_size` 64 MB: a standalone backend checkpoints when the WAL reaches it, so this bounds
 *   both the folder's size and the WAL replayed after a kill -9 (the default 1 GB could make a
 *   restart replay a gigabyte). `min_wal_size` keeps a few recycled segments, not 80 MB of them.
 * - `maintenance_work_mem` 16 MB instead of 64 MB: WebAssembly memory never shrinks, so a
 *   CREATE INDEX in a later migration would keep its whole sort memory resident (+27 MiB).
 * - Everything else stays as PGlite sets it (single user, no fsync: PGlite never syncs).
 */
export const pgliteStartParams: readonly string[] = [
  ...PGlite.defaultStartParams,
  ...["-c", "shared_buffers=8MB"],
  ...["-c", "max_wal_size=64MB"],
  ...["-c", "min_wal_size=16MB"],
  ...["-c", "maintenance_work_mem=16MB"],
];

/**
 * initdb's options for a new cluster (the template and the fallback alike): 1 MB WAL segments
 * instead of 16 MB, so a new data folder carries 1 MB of WAL per segment rather than 16.
 */
export const pgliteInitdbParams: readonly string[] = ["--wal-segsize=1"];
