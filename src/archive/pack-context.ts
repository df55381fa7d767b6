import type { Readable } from "node:stream";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import tarFs from "tar-fs";
import { listContextEntries } from "./context-entries.ts";

/**
 * A tar stream of a build context folder for the engine's build API. Symlinks are packed as
 * symlinks, never followed (nothing outside `dir` is read), and a `.dockerignore` at the root
 * is honoured as `docker build` does, the Dockerfile and `.dockerignore` always being sent.
 * Errors (an unreadable file, a vanished folder) destroy the returned stream.
 */
export function packContext(dir: string): Readable {
  const output = new PassThrough();
  (async () => {
    // An ignored folder is not listed itself (as docker build does), only what is kept inside.
    const entries = (await listContextEntries(dir)).map((entry) => entry.path);
    // tar-fs packs exactly the listed entries: every folder's children are listed already.
    const pack = tarFs.pack(dir, { entries, dereference: false, ignore: () => true });
    await pipeline(pack, output);
  })().catch((error: unknown) => output.destroy(error as Error));
  return output;
}
