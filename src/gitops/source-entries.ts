import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import dockerignore from "@balena/dockerignore";

/** One entry of a build context, as packed: relative POSIX path, normalised mode. */
export type SourceEntry =
  | { readonly type: "directory"; readonly path: string; readonly mode: number }
  | {
      readonly type: "file";
      readonly path: string;
      readonly mode: number;
      readonly size: number;
      readonly absolute: string;
    }
  | {
      readonly type: "symlink";
      readonly path: string;
      readonly mode: number;
      readonly target: string;
    };

/** Docker sends these even when .dockerignore names them: the builder needs them. */
const alwaysSent = new Set(["Dockerfile", ".dockerignore"]);

type Matcher = {
  ignores(path: string): boolean;
  /** Docker's rule: an ignored folder is walked when an exception pattern starts with it. */
  mayKeepInside(folder: string): boolean;
};

async function dockerignoreOf(folder: string): Promise<Matcher> {
  let rules = "";
  try {
    rules = await readFile(join(folder, ".dockerignore"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const matcher = dockerignore.default().add(rules);
  const exceptions = rules
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith("!"))
    .map((line) => line.slice(1).trim().replace(/^\/+/, ""));
  return {
    ignores: (path) => !alwaysSent.has(path) && matcher.ignores(path),
    mayKeepInside: (folder) => exceptions.some((kept) => `${kept}/`.startsWith(`${folder}/`)),
  };
}

function byName(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

async function walk(folder: string, prefix: string, matcher: Matcher): Promise<SourceEntry[]> {
  const names = (await readdir(folder)).sort(byName);
  const entries: SourceEntry[] = [];
  for (const name of names) {
    const absolute = join(folder, name);
    const path = prefix === "" ? name : `${prefix}/${name}`;
    const stats = await lstat(absolute);
    const ignored = matcher.ignores(path);
    if (stats.isDirectory()) {
      if (ignored && !matcher.mayKeepInside(path)) continue;
      const children = await walk(absolute, path, matcher);
      if (!ignored || children.length > 0) entries.push({ type: "directory", path, mode: 0o755 });
      entries.push(...children);
    } else if (ignored) {
      // Left out of the context.
    } else if (stats.isFile()) {
      const mode = (stats.mode & 0o111) === 0 ? 0o644 : 0o755;
      entries.push({ type: "file", path, mode, size: stats.size, absolute });
    } else if (stats.isSymbolicLink()) {
      entries.push({ type: "symlink", path, mode: 0o777, target: await readlink(absolute) });
    }
    // Sockets, FIFOs and devices are not part of a build context.
  }
  return entries;
}

/**
 * The entries of a build context folder in a fixed order (sorted by name, parents first),
 * without what its .dockerignore excludes. Symlinks are kept as links, never followed.
 */
export async function listSourceEntries(folder: string): Promise<SourceEntry[]> {
  return walk(folder, "", await dockerignoreOf(folder));
}
