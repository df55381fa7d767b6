import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import dockerignore from "@balena/dockerignore";
import { dockerfileName } from "./context-root.ts";

const dockerignoreName = ".dockerignore";

/** One entry of a build context: relative POSIX path, normalised mode, where it is on disk. */
export type ContextEntry =
  | {
      readonly type: "directory";
      readonly path: string;
      readonly mode: number;
    }
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

/**
 * Docker's rule for each path: "keep" it; "skip" it (and, for a folder, all it holds); or
 * "descend" into an ignored folder without sending it, because an exception pattern
 * ("!folder/keep") names something inside. The Dockerfile and .dockerignore are always sent.
 */
export function dockerignoreMatcher(
  patterns: readonly string[],
): (path: string, isFolder: boolean) => "keep" | "skip" | "descend" {
  if (patterns.length === 0) return () => "keep";
  const matcher = dockerignore.default().add([...patterns]);
  const exceptions = patterns
    .filter((pattern) => pattern.startsWith("!"))
    .map((pattern) => pattern.slice(1).trim().replace(/^\/+/, ""));
  return (path, isFolder) => {
    if (path === dockerfileName || path === dockerignoreName) return "keep";
    if (!matcher.ignores(path)) return "keep";
    if (!isFolder) return "skip";
    return exceptions.some((kept) => `${kept}/`.startsWith(`${path}/`)) ? "descend" : "skip";
  };
}

async function readPatterns(dir: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(join(dir, dockerignoreName), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function byName(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * The entries `docker build` would send from a context folder, in a fixed order (sorted by
 * name, parents before children), without what its .dockerignore excludes. An ignored folder
 * is listed only when it holds something an exception keeps. Symlinks are kept as links, never
 * followed; sockets, FIFOs and devices are no part of a build context.
 */
export async function listContextEntries(dir: string): Promise<ContextEntry[]> {
  const verdict = dockerignoreMatcher(await readPatterns(dir));
  async function walk(relativeDir: string): Promise<ContextEntry[]> {
    const children = await readdir(join(dir, relativeDir), { withFileTypes: true });
    children.sort((left, right) => byName(left.name, right.name));
    const entries: ContextEntry[] = [];
    for (const child of children) {
      const path = relativeDir === "" ? child.name : `${relativeDir}/${child.name}`;
      const absolute = join(dir, path);
      if (child.isDirectory()) {
        const decision = verdict(path, true);
        if (decision === "skip") continue;
        const inside = await walk(path);
        // An ignored folder that is only descended into is not sent itself (as Docker does).
        if (decision === "keep") entries.push({ type: "directory", path, mode: 0o755 });
        entries.push(...inside);
      } else if (verdict(path, false) !== "keep") {
        // Left out of the context.
      } else if (child.isFile()) {
        const stats = await lstat(absolute);
        const mode = (stats.mode & 0o111) === 0 ? 0o644 : 0o755;
        entries.push({ type: "file", path, mode, size: stats.size, absolute });
      } else if (child.isSymbolicLink()) {
        entries.push({ type: "symlink", path, mode: 0o777, target: await readlink(absolute) });
      }
    }
    return entries;
  }
  return walk("");
}
