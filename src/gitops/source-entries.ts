import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import dockerignoreModule from "@balena/dockerignore";

// Its types declare an ES default export, but the package is CommonJS: the factory is the module.
const ignore = dockerignoreModule as unknown as typeof dockerignoreModule.default;

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

type Matcher = { ignores(path: string): boolean; hasExceptions: boolean };

async function dockerignore(folder: string): Promise<Matcher> {
  let rules = "";
  try {
    rules = await readFile(join(folder, ".dockerignore"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const matcher = ignore().add(rules);
  return {
    ignores: (path) => !alwaysSent.has(path) && matcher.ignores(path),
    hasExceptions: rules.split(/\r?\n/).some((line) => line.trim().startsWith("!")),
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
      // An ignored folder is still walked when an exception (!pattern) could bring a file back.
      if (ignored && !matcher.hasExceptions) continue;
      const children = await walk(absolute, path, matcher);
      if (!ignored || children.length > 0) entries.push({ type: "directory", path, mode: 0o755 });
      entries.push(...children);
    } else if (ignored) {
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
  return walk(folder, "", await dockerignore(folder));
}
