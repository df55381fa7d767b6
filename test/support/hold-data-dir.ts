/**
 * A second process for the DATA_DIR lock tests: `node hold-data-dir.ts DIR` takes the lock of
 * DIR and says `locked` (then holds it until killed), or says `busy <message>` and exits 3.
 */
import { DataDirBusyError, lockDataDir } from "../../src/store/data-dir-lock.ts";

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error("usage: hold-data-dir.ts DIR");
try {
  await lockDataDir(dataDir);
  process.stdout.write(`locked pid=${process.pid}\n`);
  setInterval(() => {}, 60_000);
} catch (error) {
  if (!(error instanceof DataDirBusyError)) throw error;
  process.stdout.write(`busy ${error.message}\n`);
  process.exit(3);
}
