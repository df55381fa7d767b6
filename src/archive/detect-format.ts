import { open } from "node:fs/promises";
import { ArchiveError } from "./archive-error.ts";

export type ArchiveFormat = "zip" | "tar" | "tar.gz";

/** Enough bytes for a tar header, the longest signature looked at. */
const headerLength = 512;

/**
 * The format from the first bytes, never from the file name: zip's local header (or the end
 * record of an empty zip), gzip's magic (taken to hold a tar), or a tar header's "ustar" magic.
 */
export function formatOf(head: Uint8Array): ArchiveFormat | undefined {
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) {
    return "zip";
  }
  if (startsWith(head, [0x1f, 0x8b, 0x08])) return "tar.gz";
  if (head.length < headerLength) return undefined;
  // POSIX ("ustar\0") and GNU ("ustar  ") headers; pre-POSIX tars are not accepted.
  return Buffer.from(head.subarray(257, 262)).toString("latin1") === "ustar" ? "tar" : undefined;
}

/** Reads the head of the file and names its format, or refuses it saying what it starts with. */
export async function detectFormat(file: string): Promise<ArchiveFormat> {
  const handle = await open(file, "r");
  let head: Uint8Array;
  try {
    const buffer = Buffer.alloc(headerLength);
    const { bytesRead } = await handle.read(buffer, 0, headerLength, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const format = formatOf(head);
  if (format !== undefined) return format;
  throw new ArchiveError(
    "unsupported_format",
    head.length === 0
      ? "not a zip, tar or tar.gz archive (the file is empty)"
      : `not a zip, tar or tar.gz archive (starts with ${hex(head.subarray(0, 4))})`,
  );
}

function startsWith(head: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((byte, index) => head[index] === byte);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(" ");
}
