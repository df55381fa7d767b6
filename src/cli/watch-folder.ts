import { type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { CliError } from "./client.ts";

export type FolderWatch = { close(): void };

/**
 * Calls `onChange` after changes under the given folders (recursively) or to the given files,
 * once things have been quiet for `debounceMs`: an editor's save or a `git pull` is one call.
 */
export async function watchFolders(
  paths: readonly string[],
  onChange: () => void,
  options: { readonly debounceMs?: number; readonly onError?: (error: Error) => void } = {},
): Promise<FolderWatch> {
  const debounceMs = options.debounceMs ?? 300;
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  const close = () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
  try {
    for (const path of paths) {
      const absolute = resolve(path);
      let isFolder: boolean;
      try {
        isFolder = (await stat(absolute)).isDirectory();
      } catch {
        throw new CliError(`cannot watch ${path}: no such file or folder`);
      }
      // A file is watched through its folder: editors replace files rather than write them.
      const watcher = isFolder
        ? watch(absolute, { recursive: true }, changed)
        : watch(dirname(absolute), (_event, name) => {
            if (name === null || name === basename(absolute)) changed();
          });
      watcher.on("error", (error) => options.onError?.(error));
      watchers.push(watcher);
    }
  } catch (error) {
    close();
    throw error;
  }
  return { close };
}
