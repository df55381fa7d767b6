import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import yauzl from "yauzl";

/** One read fills this much; the central directory and small entries come from memory. */
const blockBytes = 1024 * 1024;
/** Two blocks: one for the central directory at the end, one walking the entries' data. */
const cachedBlocks = 2;

type Block = { readonly start: number; readonly data: Buffer };

/**
 * yauzl's file access, with reads served from a small block cache. yauzl reads each central
 * directory record and local header with its own tiny read; for 10,000 entries that is
 * 30,000 system calls, which this turns into about a hundred. yauzl asks for a subclass of
 * its RandomAccessReader, hence the class.
 */
export class CachedZipReader extends yauzl.RandomAccessReader {
  readonly #handle: FileHandle;
  readonly size: number;
  #blocks: Block[] = [];

  constructor(handle: FileHandle, size: number) {
    super();
    this.#handle = handle;
    this.size = size;
  }

  /** `length` bytes at `position`, or fewer at the end of the file. The buffer may be shared. */
  async bytes(position: number, length: number): Promise<Buffer> {
    if (length > blockBytes) return this.#readDirect(position, length);
    const end = position + length;
    let block = this.#blocks.find(
      (candidate) => position >= candidate.start && end <= candidate.start + candidate.data.length,
    );
    if (block === undefined) {
      block = { start: position, data: await this.#readDirect(position, blockBytes) };
      this.#blocks = [block, ...this.#blocks].slice(0, cachedBlocks);
    }
    return block.data.subarray(position - block.start, end - block.start);
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null) => void,
  ): void {
    // yauzl's callback also takes the number of bytes read (its types leave that out).
    const done = callback as (error: Error | null, bytesRead?: number) => void;
    this.bytes(position, length).then(
      (data) => done(null, data.copy(buffer, offset)),
      (error: unknown) => done(error as Error),
    );
  }

  override _readStreamForRange(start: number, end: number): Readable {
    if (end - start <= blockBytes) {
      const reader = this;
      return Readable.from(
        (async function* () {
          yield await reader.bytes(start, end - start);
        })(),
        { objectMode: false },
      );
    }
    return this.#handle.createReadStream({
      start,
      end: end - 1,
      autoClose: false,
      highWaterMark: blockBytes,
    });
  }

  override close(callback: (error: Error | null) => void): void {
    this.#handle.close().then(
      () => callback(null),
      (error: unknown) => callback(error as Error),
    );
  }

  async #readDirect(position: number, length: number): Promise<Buffer> {
    const wanted = Math.max(0, Math.min(length, this.size - position));
    const buffer = Buffer.allocUnsafe(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await this.#handle.read(
        buffer,
        filled,
        wanted - filled,
        position + filled,
      );
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  }
}
