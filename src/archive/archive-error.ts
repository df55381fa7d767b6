/**
 * Why an uploaded archive was refused. Every reason is the uploader's doing (the caller turns
 * it into a 422); failures of our own disk or code are plain errors.
 */
export type ArchiveErrorCode =
  | "unsupported_format"
  | "corrupt"
  | "unsafe_path"
  | "unsafe_link"
  | "unsupported_entry"
  | "too_many_entries"
  | "too_large"
  | "no_dockerfile";

/** A refused archive, with a one-line message that says what was found. */
export class ArchiveError extends Error {
  override name = "ArchiveError";
  readonly code: ArchiveErrorCode;

  constructor(code: ArchiveErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isArchiveError(error: unknown): error is ArchiveError {
  return error instanceof ArchiveError;
}

/** Wraps a library's parse error ("invalid central directory file header signature: 0x0"). */
export function corruptArchive(cause: unknown): ArchiveError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ArchiveError("corrupt", `corrupt archive: ${oneLine(detail)}`, { cause });
}

/** Quotes a name from an archive for a message: control characters escaped, long names cut. */
export function shown(name: string): string {
  const escaped = name.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
    /[\u0000-\u001f\u007f]/g,
    (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
