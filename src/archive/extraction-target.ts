import { constants } from "node:fs";
import { type FileHandle, link, mkdir, open, symlink, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ArchiveError, shown } from "./archive-error.ts";
import { checkEntryName, parentOf, resolveSymlink, symlinkOnPath } from "./entry-path.ts";
import { createWritePool } from "./write-pool.ts";

export type ExtractLimits = {
  /** Bytes of file content actually written, whatever the headers claim. */
  readonly maxBytes: number;
  /** Entries of any kind, folders included. */
  readonly maxEntries: number;
};

export type FileContent = AsyncIterable<Buffer> | (() => Promise<Buffer>);

type NodeKind = "directory" | "file" | "symlink";

/**
 * Where the archive readers put entries. It checks every name and link, writes only below
 * `root` (which must start empty: the tree is then exactly what it has been told), never
 * follows a symlink while writing, and keeps the limits. Readers call it one entry at a time.
 */
export type ExtractionTarget = {
  readonly root: string;
  readonly entries: () => number;
  readonly bytes: () => number;
  /** Every symlink written, by relative path → its target as written. */
  readonly symlinks: ReadonlyMap<string, string>;
  /** Counts an entry of any kind; called by the readers for entries they refuse too. */
  readonly admit: () => void;
  readonly directory: (name: string, mode: number | undefined) => Promise<void>;
  /**
   * `size` is the header's. Content is a stream (small files are read whole, then written in
   * the background), or a function giving the whole content, called in the background.
   */
  readonly file: (
    name: string,
    mode: number | undefined,
    size: number,
    content: FileContent,
  ) => Promise<void>;
  readonly symlink: (name: string, target: string) => Promise<void>;
  readonly hardlink: (name: string, target: string) => Promise<void>;
  /** Waits for the background writes; rejects with the first that failed. */
  readonly settle: () => Promise<void>;
};

/** No following a symlink at the last component, and never reuse what is there. */
const createFlags =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Files up to this size are read whole, then written while the next entries are read. */
const smallFileBytes = 1024 * 1024;
const backgroundWrites = 16;
const backgroundBytes = 32 * 1024 * 1024;

/** Filesystem errors that come from what the archive asked for rather than from our disk. */
const entryErrorCodes = new Set(["ENAMETOOLONG", "ENOTDIR", "EEXIST", "EISDIR", "ELOOP", "EILSEQ"]);

/** Executable bits survive; setuid, setgid and sticky do not; the owner can always read and write. */
export function fileModeOf(mode: number | undefined): number {
  return ((mode ?? 0o644) & 0o777) | 0o600;
}

export function directoryModeOf(mode: number | undefined): number {
  return ((mode ?? 0o755) & 0o777) | 0o700;
}

export function createExtractionTarget(root: string, limits: ExtractLimits): ExtractionTarget {
  const nodes = new Map<string, NodeKind>([["", "directory"]]);
  const symlinks = new Map<string, string>();
  const pool = createWritePool(backgroundWrites, backgroundBytes);
  let entries = 0;
  let bytes = 0;

  function count(length: number): void {
    bytes += length;
    if (bytes > limits.maxBytes) {
      throw new ArchiveError("too_large", `extracted size exceeds ${limits.maxBytes} bytes`);
    }
  }

  function admit(): void {
    entries += 1;
    if (entries > limits.maxEntries) {
      throw new ArchiveError(
        "too_many_entries",
        `archive has more than ${limits.maxEntries} entries (the limit)`,
      );
    }
  }

  /** Checks a name for a new node and makes sure its folder exists; returns the relative path. */
  async function place(name: string, kind: NodeKind): Promise<string> {
    const checked = checkEntryName(name);
    if (!checked.ok) {
      throw new ArchiveError("unsafe_path", `entry ${shown(name)} ${checked.problem}`);
    }
    const path = checked.path;
    const through = symlinkOnPath(path, symlinks);
    if (through !== undefined) {
      throw new ArchiveError(
        "unsafe_link",
        through === path
          ? `entry ${shown(name)} would replace the symlink ${shown(through)}`
          : `entry ${shown(name)} would be written through the symlink ${shown(through)}`,
      );
    }
    if (path === "" && kind !== "directory") {
      throw new ArchiveError("unsafe_path", `entry ${shown(name)} has no file name`);
    }
    const existing = nodes.get(path);
    if (existing !== undefined && (existing !== kind || kind === "symlink")) {
      throw new ArchiveError(
        "unsafe_path",
        `entry ${shown(name)} appears twice (as a ${existing} and a ${kind})`,
      );
    }
    if (path !== "") await ensureDirectory(parentOf(path), undefined, name);
    return path;
  }

  async function ensureDirectory(
    path: string,
    mode: number | undefined,
    name: string,
  ): Promise<void> {
    const existing = nodes.get(path);
    if (existing === "directory") return;
    if (existing !== undefined) {
      throw new ArchiveError(
        "unsafe_path",
        `entry ${shown(name)} needs ${shown(path)} to be a folder, but it is a ${existing}`,
      );
    }
    await ensureDirectory(parentOf(path), undefined, name);
    await guarded(name, () => mkdir(join(root, path), { mode: directoryModeOf(mode) }));
    nodes.set(path, "directory");
  }

  async function directory(name: string, mode: number | undefined): Promise<void> {
    admit();
    const path = await place(name, "directory");
    await ensureDirectory(path, mode, name);
  }

  async function file(
    name: string,
    mode: number | undefined,
    size: number,
    content: FileContent,
  ): Promise<void> {
    admit();
    const path = await place(name, "file");
    const absolute = join(root, path);
    // A later entry with the same name replaces the file, as tar does.
    if (nodes.get(path) === "file") {
      await pool.drain();
      await unlink(absolute);
    }
    nodes.set(path, "file");
    if (typeof content === "function") {
      count(size);
      await pool.run(size, async () => {
        const data = await content();
        if (data.length !== size) throw wrongSize(name);
        await writeWhole(name, absolute, mode, [data]);
      });
      return;
    }
    if (size > smallFileBytes) {
      await writeStreaming(name, absolute, mode, content);
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of content) {
      count(chunk.length);
      length += chunk.length;
      if (length > smallFileBytes) throw wrongSize(name);
      chunks.push(chunk);
    }
    await pool.run(length, () => writeWhole(name, absolute, mode, chunks));
  }

  async function writeStreaming(
    name: string,
    absolute: string,
    mode: number | undefined,
    content: AsyncIterable<Buffer>,
  ): Promise<void> {
    const handle = await guarded(name, () => open(absolute, createFlags, fileModeOf(mode)));
    try {
      for await (const chunk of content) {
        count(chunk.length);
        await writeAll(handle, chunk);
      }
    } finally {
      await handle.close();
    }
  }

  async function createSymlink(name: string, target: string): Promise<void> {
    admit();
    const path = await place(name, "symlink");
    if (target === "" || target.includes("\0")) {
      throw new ArchiveError("unsafe_link", `symlink ${shown(name)} has an unusable target`);
    }
    checkSymlink(name, path, target, symlinks);
    await guarded(name, () => symlink(target, join(root, path)));
    nodes.set(path, "symlink");
    symlinks.set(path, target);
  }

  async function hardlink(name: string, target: string): Promise<void> {
    admit();
    const path = await place(name, "file");
    const checked = checkEntryName(target);
    if (!checked.ok || checked.path === "") {
      throw new ArchiveError(
        "unsafe_link",
        `hard link ${shown(name)} points outside the context (${shown(target)})`,
      );
    }
    // Only to a file this archive wrote: nothing else in the tree can be linked by accident.
    if (nodes.get(checked.path) !== "file" || symlinkOnPath(checked.path, symlinks)) {
      throw new ArchiveError(
        "unsafe_link",
        `hard link ${shown(name)} points to ${shown(target)}, which is not a file extracted before it`,
      );
    }
    const absolute = join(root, path);
    // The file linked to may still be being written.
    await pool.drain();
    if (nodes.get(path) === "file") await unlink(absolute);
    nodes.set(path, "file");
    await guarded(name, () => link(join(root, checked.path), absolute));
  }

  return {
    root,
    entries: () => entries,
    bytes: () => bytes,
    symlinks,
    admit,
    directory,
    file,
    symlink: createSymlink,
    hardlink,
    settle: pool.drain,
  };
}

function wrongSize(name: string): ArchiveError {
  return new ArchiveError(
    "corrupt",
    `corrupt archive: entry ${shown(name)} does not have the size its header says`,
  );
}

async function writeWhole(
  name: string,
  absolute: string,
  mode: number | undefined,
  chunks: readonly Buffer[],
): Promise<void> {
  const handle = await guarded(name, () => open(absolute, createFlags, fileModeOf(mode)));
  try {
    for (const chunk of chunks) await writeAll(handle, chunk);
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset);
    offset += bytesWritten;
  }
}

/** Refuses a symlink that leaves the tree (or loops), given the symlinks known so far. */
export function checkSymlink(
  name: string,
  path: string,
  target: string,
  symlinks: ReadonlyMap<string, string>,
): void {
  const resolution = resolveSymlink(path, target, symlinks);
  if (resolution.ok) return;
  throw new ArchiveError(
    "unsafe_link",
    resolution.problem === "loop"
      ? `symlink ${shown(name)} is part of a loop (${shown(target)})`
      : `symlink ${shown(name)} points outside the context (${shown(target)})`,
  );
}

/** Turns the filesystem's refusal of a name (too long, not a folder, ...) into an ArchiveError. */
async function guarded<T>(name: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== undefined && entryErrorCodes.has(code)) {
      throw new ArchiveError(
        "unsupported_entry",
        `entry ${shown(name)} cannot be written (${code})`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}
