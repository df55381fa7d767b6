import { createReadStream } from "node:fs";
import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tarStream from "tar-stream";
import { ArchiveError, corruptArchive, isArchiveError, shown } from "./archive-error.ts";
import type { ExtractionTarget } from "./extraction-target.ts";

/** An entry as tar-stream's iterator yields it: its header and a stream of its content. */
type TarEntry = tarStream.ExtractEvents["entry"][1];

/** Large reads: per-chunk overhead in the stream stages dominates with the 64 KiB default. */
const readChunkBytes = 1024 * 1024;

/** Headers, padding and long names a tar may add per entry beyond its content, generously. */
const tarOverheadPerEntry = 8 * 1024;

/**
 * Streams a tar (gzip-compressed when `gzipped`) into the target, one entry at a time. Any
 * parse or decompression error is a corrupt archive; the file stream is closed either way.
 */
export async function extractTar(
  file: string,
  gzipped: boolean,
  target: ExtractionTarget,
  maxBytes: number,
  maxEntries: number,
): Promise<void> {
  const extract = tarStream.extract();
  const stages: NodeJS.ReadWriteStream[] = [];
  if (gzipped) {
    // A tar stream is content plus bounded overhead; decompressing past that is a bomb of zeros.
    const maxStreamBytes = maxBytes + (maxEntries + 2) * tarOverheadPerEntry;
    stages.push(
      createGunzip({ chunkSize: readChunkBytes / 8 }),
      limitBytes(maxStreamBytes, maxBytes),
    );
  }
  const feeding = pipeline([
    createReadStream(file, { highWaterMark: readChunkBytes }),
    ...stages,
    extract,
  ]).then(
    () => undefined,
    (error: unknown) => error,
  );
  let failure: unknown;
  try {
    for await (const entry of extract) await extractEntry(entry, target);
  } catch (error) {
    failure = error;
  }
  const feedError = await feeding;
  if (failure === undefined) failure = feedError;
  if (failure === undefined) return;
  if (isArchiveError(failure)) throw failure;
  if (isParseError(failure)) throw corruptArchive(failure);
  throw failure;
}

async function extractEntry(entry: TarEntry, target: ExtractionTarget): Promise<void> {
  const { header } = entry;
  const name = header.name;
  switch (header.type) {
    case "file":
    case "contiguous-file":
      // streamx streams yield Buffers.
      await target.file(name, header.mode, header.size, entry as AsyncIterable<Buffer>);
      return;
    case "directory":
      entry.resume();
      await target.directory(name, header.mode);
      return;
    case "symlink":
      entry.resume();
      await target.symlink(name, header.linkname ?? "");
      return;
    case "link":
      entry.resume();
      await target.hardlink(name, header.linkname ?? "");
      return;
    case "character-device":
    case "block-device":
      target.admit();
      throw new ArchiveError("unsupported_entry", `device file ${shown(name)} is not allowed`);
    case "fifo":
      target.admit();
      throw new ArchiveError("unsupported_entry", `FIFO ${shown(name)} is not allowed`);
    default:
      target.admit();
      throw new ArchiveError(
        "unsupported_entry",
        `entry ${shown(name)} has a type that is not allowed (${header.type ?? "unknown"})`,
      );
  }
}

/** Errors that mean the bytes are not a well-formed (gzip-compressed) tar. */
function isParseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === "string" && code.startsWith("Z_")) return true; // zlib
  return /tar header|Unexpected end of data|Invalid header|Header exceeds/.test(error.message);
}

function limitBytes(maxStreamBytes: number, maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      seen += chunk.length;
      if (seen > maxStreamBytes) {
        callback(new ArchiveError("too_large", `extracted size exceeds ${maxBytes} bytes`));
        return;
      }
      callback(null, chunk);
    },
  });
}
