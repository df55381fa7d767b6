import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import dockerignore from "@balena/dockerignore";
import tarFs from "tar-fs";
import { dockerfileName } from "./context-root.ts";

const dockerignoreName = ".dockerignore";

/**
 * A tar stream of a build context folder for the engine's build API. Symlinks are packed as
 * symlinks, never followed (nothing outside `dir` is read), and a `.dockerignore` at the root
 * is honoured as `docker build` does, the Dockerfile and `.dockerignore` always being sent.
 * Errors (an unreadable file, a vanished folder) destroy the returned stream.
 */
export function packContext(dir: string): Readable {
  const output = new PassThrough();
  (async () => {
    const entries = await contextEntries(dir);
    // tar-fs packs exactly the listed entries: every folder's children are listed already.
    const pack = tarFs.pack(dir, { entries, dereference: false, ignore: () => true });
    await pipeline(pack, output);
  })().catch((error: unknown) => output.destroy(error as Error));
  return output;
}

/** The context-relative paths `docker build` would send, parents before children. */
export async function contextEntries(dir: string): Promise<string[]> {
  const ignored = dockerignoreMatcher(await readPatterns(dir));
  const entries: string[] = [];
  async function walk(relativeDir: string): Promise<void> {
    const children = await readdir(join(dir, relativeDir), { withFileTypes: true });
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      const path = relativeDir === "" ? child.name : `${relativeDir}/${child.name}`;
      const isFolder = child.isDirectory();
      // Sockets, FIFOs and devices are no part of a build context.
      if (!isFolder && !child.isFile() && !child.isSymbolicLink()) continue;
      const verdict = ignored(path, isFolder);
      if (verdict === "keep") entries.push(path);
      if (isFolder && verdict !== "skip") await walk(path);
    }
  }
  await walk("");
  return entries;
}

/**
 * Docker's rule for each path: "keep" it; "skip" it (and, for a folder, all it holds); or
 * "descend" into an ignored folder without sending it, because an exception pattern
 * ("!folder/keep") names something inside.
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
