import { createHash, randomUUID } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar, { type Pack } from "tar-stream";
import { type ContextEntry, listContextEntries } from "../archive/context-entries.ts";

export type PackedSource = {
  /** A temporary .tar.gz; the caller removes it after the upload. */
  readonly file: string;
  /**
   * The sha256 of the .tar.gz bytes as lowercase hex, as the server digests an upload
   * (src/archive/digest-file.ts): the same content always gives the same digest.
   */
  readonly digest: string;
  readonly bytes: number;
  readonly entries: number;
};

/** Nothing but content and the executable bit may change the bytes. */
const fixedHeader = { mtime: new Date(0), uid: 0, gid: 0, uname: "", gname: "" } as const;
const gzipLevel = 6;

async function addEntry(pack: Pack, entry: ContextEntry): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const done = (error?: Error | null) => (error ? reject(error) : resolve(undefined));
  if (entry.type === "directory") {
    pack.entry({ ...fixedHeader, name: entry.path, type: "directory", mode: entry.mode }, done);
  } else if (entry.type === "symlink") {
    const link = { name: entry.path, mode: entry.mode, linkname: entry.target };
    pack.entry({ ...fixedHeader, ...link, type: "symlink" }, done);
  } else {
    const header = { name: entry.path, type: "file", mode: entry.mode, size: entry.size } as const;
    const sink = pack.entry({ ...fixedHeader, ...header }, done);
    for await (const chunk of createReadStream(entry.absolute)) {
      if (!sink.write(chunk)) await once(sink, "drain");
    }
    sink.end(undefined); // a streamx Writable: end(finalChunk)
  }
  return promise;
}

/**
 * Packs a build context folder as a deterministic tar.gz (sorted entries, fixed times and
 * owners, modes 644/755, .dockerignore honoured) into a temporary file, and digests it.
 */
export async function packSource(
  folder: string,
  options: { readonly directory?: string } = {},
): Promise<PackedSource> {
  const entries = await listContextEntries(folder);
  const file = join(options.directory ?? tmpdir(), `orchestrator-source-${randomUUID()}.tar.gz`);
  const hash = createHash("sha256");
  let bytes = 0;
  const pack = tar.pack();
  const written = pipeline(
    pack,
    createGzip({ level: gzipLevel }),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  try {
    for (const entry of entries) await addEntry(pack, entry);
    pack.finalize();
    await written;
  } catch (error) {
    pack.destroy(error as Error);
    await written.catch(() => {});
    await rm(file, { force: true });
    throw error;
  }
  return { file, digest: hash.digest("hex"), bytes, entries: entries.length };
}
