import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { inflateRaw, inflateRawSync } from "node:zlib";
import yauzl, { type Entry, type ZipFile } from "yauzl";
import { ArchiveError, corruptArchive, isArchiveError, shown } from "./archive-error.ts";
import type { ExtractionTarget } from "./extraction-target.ts";
import { CachedZipReader } from "./zip-reader.ts";

const inflate = promisify(inflateRaw);

/** File type bits of a Unix mode, as zip tools store it in the external attributes. */
const typeMask = 0o170000;
const unixTypes = {
  fifo: 0o010000,
  characterDevice: 0o020000,
  directory: 0o040000,
  blockDevice: 0o060000,
  symlink: 0o120000,
  socket: 0o140000,
} as const;
/** Entries up to this size are read whole rather than streamed. */
const smallEntryBytes = 1024 * 1024;
/** Entries up to this size are inflated in one synchronous call. */
const inlineInflateBytes = 256 * 1024;
/** Longest symlink target read from a zip (Linux's PATH_MAX). */
const maxLinkTarget = 4096;

/**
 * Extracts a zip into the target. yauzl reads the central directory (the spec's source of
 * truth), checks that each entry's data inflates to exactly its declared size, and here the
 * declared sizes are also summed against the limit before anything is inflated.
 */
export async function extractZip(
  file: string,
  target: ExtractionTarget,
  maxBytes: number,
  maxEntries: number,
): Promise<void> {
  const { zip, reader } = await openZip(file);
  try {
    if (zip.entryCount > maxEntries) {
      throw new ArchiveError(
        "too_many_entries",
        `archive has ${zip.entryCount} entries; the limit is ${maxEntries}`,
      );
    }
    let declaredBytes = 0;
    for (let entry = await nextEntry(zip); entry !== undefined; entry = await nextEntry(zip)) {
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        true,
      );
      const unixMode = entry.externalFileAttributes >>> 16;
      const type = unixMode & typeMask;
      const mode = unixMode === 0 ? undefined : unixMode & 0o7777;
      if (name.endsWith("/") || type === unixTypes.directory) {
        await target.directory(name, mode);
        continue;
      }
      refuseSpecial(name, type, target);
      if (entry.isEncrypted()) {
        target.admit();
        throw new ArchiveError("unsupported_entry", `entry ${shown(name)} is encrypted`);
      }
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        target.admit();
        throw new ArchiveError(
          "unsupported_entry",
          `entry ${shown(name)} uses compression method ${entry.compressionMethod} (only stored and deflate are supported)`,
        );
      }
      if (type === unixTypes.symlink) {
        await target.symlink(name, await readLinkTarget(zip, entry, name));
        continue;
      }
      declaredBytes += entry.uncompressedSize;
      if (declaredBytes > maxBytes) {
        throw new ArchiveError("too_large", `extracted size exceeds ${maxBytes} bytes`);
      }
      if (entry.uncompressedSize <= smallEntryBytes && entry.compressedSize <= smallEntryBytes) {
        // Read here, inflated and written in the background while the next entries are read.
        const raw = Buffer.from(await rawData(zip, reader, entry));
        await target.file(name, mode, entry.uncompressedSize, () => decode(raw, entry, name));
      } else {
        await target.file(name, mode, entry.uncompressedSize, entryContent(zip, entry));
      }
    }
  } catch (error) {
    throw isArchiveError(error) || !isZipError(error) ? error : corruptArchive(error);
  } finally {
    zip.close();
  }
}

function refuseSpecial(name: string, type: number, target: ExtractionTarget): void {
  const what =
    type === unixTypes.characterDevice || type === unixTypes.blockDevice
      ? "device file"
      : type === unixTypes.fifo
        ? "FIFO"
        : type === unixTypes.socket
          ? "socket"
          : undefined;
  if (what === undefined) return;
  target.admit();
  throw new ArchiveError("unsupported_entry", `${what} ${shown(name)} is not allowed`);
}

/** Errors raised by yauzl or zlib while reading: the zip is malformed. */
function isZipError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  // Errors from fs (ENOSPC, EACCES, ...) carry an errno code; zlib's start with Z_.
  return code === undefined || code.startsWith("Z_");
}

type OpenedZip = { readonly zip: ZipFile; readonly reader: CachedZipReader };

async function openZip(file: string): Promise<OpenedZip> {
  const handle = await open(file, "r");
  let reader: CachedZipReader;
  try {
    reader = new CachedZipReader(handle, (await handle.stat()).size);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(
      reader,
      reader.size,
      {
        lazyEntries: true,
        autoClose: false,
        decodeStrings: false,
        validateEntrySizes: true,
        strictFileNames: true,
      },
      (error, zip) => {
        if (error !== null) {
          handle.close().then(
            () => reject(corruptArchive(error)),
            () => reject(corruptArchive(error)),
          );
          return;
        }
        // Late errors (closing the file) must never become an unhandled 'error' event.
        zip.on("error", () => {});
        resolve({ zip, reader });
      },
    );
  });
}

function nextEntry(zip: ZipFile): Promise<Entry | undefined> {
  return new Promise((resolve, reject) => {
    const onEntry = (entry: Entry): void => {
      settle();
      resolve(entry);
    };
    const onEnd = (): void => {
      settle();
      resolve(undefined);
    };
    const onError = (error: Error): void => {
      settle();
      reject(error);
    };
    const settle = (): void => {
      zip.off("entry", onEntry);
      zip.off("end", onEnd);
      zip.off("error", onError);
    };
    zip.on("entry", onEntry);
    zip.on("end", onEnd);
    zip.on("error", onError);
    zip.readEntry();
  });
}

function openReadStream(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error !== null) reject(error);
      else resolve(stream);
    });
  });
}

/** The entry's bytes, opened only when first read (so a refused entry leaves nothing open). */
async function* entryContent(zip: ZipFile, entry: Entry): AsyncGenerator<Buffer> {
  const stream = await openReadStream(zip, entry);
  yield* stream as AsyncIterable<Buffer>;
}

/** The entry's stored (possibly compressed) bytes, found through its local header. */
async function rawData(zip: ZipFile, reader: CachedZipReader, entry: Entry): Promise<Buffer> {
  const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  const raw = await reader.bytes(fileDataStart, entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new Error("unexpected EOF in entry data");
  return raw;
}

/** Inflates a small entry, holding it to exactly the size its header declares. */
async function decode(raw: Buffer, entry: Entry, name: string): Promise<Buffer> {
  if (entry.compressionMethod === 0) return raw;
  const size = entry.uncompressedSize;
  // One output chunk of the declared size; a byte more than declared is an error, not memory.
  const options = { chunkSize: Math.max(64, size + 1), maxOutputLength: Math.max(1, size) };
  let data: Buffer;
  try {
    // A thread-pool round trip costs more than inflating a few KiB; the event loop is held
    // for at most a couple of milliseconds.
    data = size <= inlineInflateBytes ? inflateRawSync(raw, options) : await inflate(raw, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new ArchiveError(
        "corrupt",
        `corrupt archive: entry ${shown(name)} inflates to more than the ${size} bytes its header says`,
      );
    }
    throw corruptArchive(error);
  }
  if (data.length !== size) {
    throw new ArchiveError(
      "corrupt",
      `corrupt archive: entry ${shown(name)} inflates to ${data.length} bytes, not the ${size} its header says`,
    );
  }
  return data;
}

async function readLinkTarget(zip: ZipFile, entry: Entry, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of entryContent(zip, entry)) {
    length += chunk.length;
    if (length > maxLinkTarget) {
      throw new ArchiveError("unsafe_link", `symlink ${shown(name)} has an overlong target`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
