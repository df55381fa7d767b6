import { realpath, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

export type SourceFolder = { ok: true; folder: string } | { ok: false; message: string };

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The Git work tree holding a folder: the nearest ancestor with a `.git` (folder or file). */
export async function findRepositoryRoot(folder: string): Promise<string | undefined> {
  let current = resolve(folder);
  for (;;) {
    if (await exists(join(current, ".git"))) return current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

function inside(root: string, path: string): boolean {
  const fromRoot = relative(root, path);
  return fromRoot === "" || (!fromRoot.startsWith("..") && !isAbsolute(fromRoot));
}

/**
 * Checks `spec.source` of a file before anything is uploaded: an existing folder, inside the
 * repository root once symlinks are resolved, holding a Dockerfile. The repository root is the
 * Git work tree holding the file, or else `givenRoot` (the folder the user named).
 */
export async function resolveSourceFolder(
  file: string,
  source: string,
  givenRoot: string,
): Promise<SourceFolder> {
  const fileFolder = await realpath(dirname(file));
  const root = await realpath((await findRepositoryRoot(fileFolder)) ?? givenRoot);
  let folder: string;
  try {
    folder = await realpath(resolve(fileFolder, source));
  } catch {
    return { ok: false, message: `folder "${source}" does not exist` };
  }
  if (!inside(root, folder)) {
    return {
      ok: false,
      message: `"${source}" resolves to ${folder}, outside the repository root ${root}`,
    };
  }
  if (!(await stat(folder)).isDirectory()) {
    return { ok: false, message: `"${source}" is not a folder` };
  }
  let dockerfile: boolean;
  try {
    dockerfile = (await stat(join(folder, "Dockerfile"))).isFile();
  } catch {
    dockerfile = false;
  }
  if (!dockerfile) return { ok: false, message: `folder "${source}" has no Dockerfile` };
  return { ok: true, folder };
}
