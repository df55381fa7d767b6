import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export class DataDirBusyError extends Error {
  override name = "DataDirBusyError";
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The embedded database allows one process per folder. A pid file says who holds it;
 * a stale file (its process is gone, e.g. after kill -9) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, "orchestrator.pid");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: "wx" });
      return () => rm(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(await readFile(lockFile, "utf8").catch(() => ""), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new DataDirBusyError(
          `DATA_DIR ${dataDir} is in use by process ${holder}; the embedded database allows one process (set DATABASE_URL to share a Postgres server)`,
        );
      }
      await rm(lockFile, { force: true });
    }
  }
  throw new DataDirBusyError(`could not lock DATA_DIR ${dataDir}`);
}
