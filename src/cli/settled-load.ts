import { stat } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { type FileError, sortFileErrors } from "../gitops/file-error.ts";
import { findDocumentFiles } from "../gitops/find-files.ts";
import { type LoadResult, loadDocuments } from "../gitops/load.ts";

export type SettledLoadOptions = {
  /** How long the files must stay unchanged before they are read (default 200 ms). */
  readonly settleMs?: number;
  /** Give up after this long of files that keep changing (default 10 s). */
  readonly maxWaitMs?: number;
  /** Injectable for tests: waits `ms`. */
  readonly sleep?: (ms: number) => Promise<void>;
};

export const emptyFileMessage =
  "no documents (is the file being written?); nothing was applied, the last applied state stays";

/** The size and modification time of every desired-state file: what changes while one is written. */
async function fingerprint(paths: readonly string[]): Promise<string> {
  const { files } = await findDocumentFiles(paths);
  const parts = await Promise.all(
    files.map(async (file) => {
      const stats = await stat(file.absolute).catch(() => undefined);
      return `${file.absolute}\u0000${stats?.size ?? "gone"}\u0000${stats?.mtimeMs ?? ""}`;
    }),
  );
  return parts.join("\n");
}

/**
 * A file that holds no document while the watch runs is an error, not "this file wants
 * nothing": an editor saving in place truncates the file before it writes it, and read in
 * between, the empty file would prune every image it names. Delete the file to remove them.
 * Pure.
 */
export function emptyFileErrors(loaded: LoadResult): FileError[] {
  const holding = new Set([
    ...loaded.documents.map((document) => document.file),
    ...loaded.errors.map((error) => error.file),
  ]);
  return loaded.files
    .filter((file) => !holding.has(file))
    .map((file) => ({ file, line: 1, column: 1, path: "", message: emptyFileMessage }));
}

/**
 * Loads the desired-state files for a round of `apply --watch` once they have settled: their
 * sizes and modification times unchanged for `settleMs` before the read and during it (a
 * change in between reads them again). Files that never settle, and files with no documents,
 * are errors: the round then applies nothing and the last applied state stays.
 */
export async function loadSettled(
  paths: readonly string[],
  options: SettledLoadOptions = {},
): Promise<LoadResult> {
  const settleMs = options.settleMs ?? 200;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const started = Date.now();
  let before = await fingerprint(paths);
  for (;;) {
    await sleep(settleMs);
    const loaded = await loadDocuments(paths);
    const after = await fingerprint(paths);
    if (after === before) {
      const empty = emptyFileErrors(loaded);
      if (empty.length === 0) return loaded;
      return { ...loaded, errors: sortFileErrors([...loaded.errors, ...empty], loaded.files) };
    }
    if (Date.now() - started >= maxWaitMs) {
      const message = `the files kept changing for ${Math.round(maxWaitMs / 1000)}s; nothing was applied, the last applied state stays`;
      const file = loaded.files[0] ?? paths[0] ?? ".";
      return { ...loaded, errors: [{ file, line: 1, column: 1, path: "", message }] };
    }
    before = after;
  }
}
