import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

export class DataDirBusyError extends Error {
  override name = "DataDirBusyError";
}

/** Who holds the lock, written beside it for the error message of the next one to try. */
type Holder = { readonly pid: number; readonly host: string; readonly since: string };

const lockFileName = "orchestrator.lock";
const holderFileName = "orchestrator.holder.json";

/**
 * The embedded database allows one process per folder. The lock is an exclusive lock the kernel
 * holds for this process on `DATA_DIR/orchestrator.lock` and drops when the process ends, however
 * it ends (kill -9 included): nothing is left to clean up and nothing stale can be mistaken for a
 * holder. A pid file cannot do that in containers, where every process is pid 1 and a dead
 * holder's pid is this process's own.
 *
 * The lock is SQLite's (node:sqlite, built into Node): an EXCLUSIVE transaction in
 * `locking_mode=EXCLUSIVE` keeps a POSIX record lock (fcntl) on the file for as long as the
 * connection is open. That lock works across containers sharing the folder (one kernel) and on
 * network file systems that support locking; Node itself offers no flock.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const holderFile = path.join(dataDir, holderFileName);
  // timeout 0: a held lock answers SQLITE_BUSY at once instead of waiting for it.
  const lock = new DatabaseSync(path.join(dataDir, lockFileName), { timeout: 0 });
  try {
    lock.exec(
      "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE; " +
        "CREATE TABLE IF NOT EXISTS lock (taken_at TEXT); COMMIT;",
    );
  } catch (error) {
    lock.close();
    if (!isBusy(error)) throw error;
    throw new DataDirBusyError(
      `DATA_DIR ${dataDir} is in use by ${await describeHolder(holderFile)}; the embedded database allows one process (set DATABASE_URL to share a Postgres server)`,
    );
  }
  const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await writeFile(holderFile, `${JSON.stringify(holder)}\n`);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    await rm(holderFile, { force: true });
    lock.close();
  };
}

function isBusy(error: unknown): boolean {
  const code = (error as { errcode?: unknown }).errcode;
  // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with or without extended bits.
  return typeof code === "number" && ((code & 0xff) === 5 || (code & 0xff) === 6);
}

async function describeHolder(holderFile: string): Promise<string> {
  try {
    const holder = JSON.parse(await readFile(holderFile, "utf8")) as Holder;
    return `process ${holder.pid} on host ${holder.host} (since ${holder.since})`;
  } catch {
    return "another process";
  }
}
