import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { FileError } from "./file-error.ts";

export type DocumentFile = {
  /** As the user named it: the path given, plus the path inside it for a folder. */
  readonly file: string;
  readonly absolute: string;
  /** The folder given (or the given file's folder): the root when no Git work tree holds it. */
  readonly givenRoot: string;
};

const documentExtension = /\.ya?ml$/i;

function skipped(name: string): boolean {
  return name.startsWith(".") || name === "node_modules";
}

/** `.yaml`/`.yml` files under a folder, recursively, sorted; hidden entries and symlinked folders are skipped. */
async function walk(folder: string, shown: string, givenRoot: string): Promise<DocumentFile[]> {
  const entries: Dirent[] = await readdir(folder, { withFileTypes: true });
  entries.sort((left, right) => (left.name < right.name ? -1 : left.name > right.name ? 1 : 0));
  const files: DocumentFile[] = [];
  for (const entry of entries) {
    if (skipped(entry.name)) continue;
    const absolute = join(folder, entry.name);
    const file = join(shown, entry.name);
    if (entry.isDirectory()) {
      files.push(...(await walk(absolute, file, givenRoot)));
    } else if (documentExtension.test(entry.name)) {
      const isFile = entry.isFile() || (entry.isSymbolicLink() && (await isRegularFile(absolute)));
      if (isFile) files.push({ file, absolute, givenRoot });
    }
  }
  return files;
}

async function isRegularFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The desired-state files of the given files and folders. A file named directly is read
 * whatever its extension; a path read twice counts once.
 */
export async function findDocumentFiles(
  paths: readonly string[],
): Promise<{ files: DocumentFile[]; errors: FileError[] }> {
  const files: DocumentFile[] = [];
  const errors: FileError[] = [];
  for (const path of paths) {
    const absolute = resolve(path);
    try {
      const stats = await stat(absolute);
      if (stats.isDirectory()) files.push(...(await walk(absolute, path, absolute)));
      else files.push({ file: path, absolute, givenRoot: dirname(absolute) });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message =
        code === "ENOENT" ? "no such file or folder" : `cannot read: ${(error as Error).message}`;
      errors.push({ file: path, line: 1, column: 1, path: "", message });
    }
  }
  const seen = new Set<string>();
  return {
    files: files.filter((file) => !seen.has(file.absolute) && seen.add(file.absolute)),
    errors,
  };
}
