import type { Dirent } from "node:fs";
import { readdir, rename, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { ArchiveError, shown } from "./archive-error.ts";

export const dockerfileName = "Dockerfile";
/** Left by macOS's "Compress" beside the real content; never a reason not to strip. */
const macMetadataFolder = "__MACOSX";
/** How many names the "no Dockerfile" message lists. */
const namesShown = 10;

/** What sits at the root of an extracted tree, and which folder (if any) is the real context. */
export type ContextLayout = {
  /** The single top-level folder holding the Dockerfile (as in GitHub archives), if any. */
  readonly folder: string | undefined;
  readonly hasDockerfile: boolean;
};

/** The path of the Dockerfile at the root of `dir`, or undefined. */
export async function findDockerfile(dir: string): Promise<string | undefined> {
  const entries = await readdir(dir, { withFileTypes: true });
  return hasDockerfileIn(entries) ? join(dir, dockerfileName) : undefined;
}

/**
 * Decides the context of an extracted tree: its root when the Dockerfile is there; otherwise a
 * single top-level folder that holds one; otherwise the root, without a Dockerfile.
 */
export async function contextLayout(root: string): Promise<ContextLayout> {
  const entries = await readdir(root, { withFileTypes: true });
  if (hasDockerfileIn(entries)) return { folder: undefined, hasDockerfile: true };
  const content = entries.filter((entry) => entry.name !== macMetadataFolder);
  const only = content[0];
  if (content.length === 1 && only !== undefined && only.isDirectory()) {
    if ((await findDockerfile(join(root, only.name))) !== undefined) {
      return { folder: only.name, hasDockerfile: true };
    }
  }
  return { folder: undefined, hasDockerfile: false };
}

/**
 * Moves the content of `root/folder` up into `root` (and drops macOS metadata beside it), so
 * the context is always the extraction root. Renames only: nothing is copied.
 */
export async function hoistFolder(root: string, folder: string): Promise<void> {
  await rm(join(root, macMetadataFolder), { recursive: true, force: true });
  const children = await readdir(join(root, folder));
  let parking = `.hoist-${process.pid}`;
  while (children.includes(parking)) parking = `${parking}_`;
  await rename(join(root, folder), join(root, parking));
  for (const child of children) await rename(join(root, parking, child), join(root, child));
  await rmdir(join(root, parking));
}

/** The refusal for a context without a Dockerfile, listing what is there instead. */
export async function missingDockerfile(root: string): Promise<ArchiveError> {
  const entries = await readdir(root, { withFileTypes: true });
  const only = entries[0];
  const names =
    entries.length === 1 && only !== undefined && only.isDirectory()
      ? (await readdir(join(root, only.name), { withFileTypes: true })).map(
          (entry) => `${shown(only.name)}/${describe(entry)}`,
        )
      : entries.map(describe);
  names.sort();
  const shownNames = names.slice(0, namesShown);
  if (names.length > namesShown) shownNames.push("...");
  return new ArchiveError(
    "no_dockerfile",
    `no ${dockerfileName} at the root of the archive (found: ${shownNames.length === 0 ? "nothing" : shownNames.join(", ")})`,
  );
}

function hasDockerfileIn(entries: readonly Dirent[]): boolean {
  return entries.some(
    (entry) => entry.name === dockerfileName && (entry.isFile() || entry.isSymbolicLink()),
  );
}

function describe(entry: Dirent): string {
  return entry.isDirectory() ? `${shown(entry.name)}/` : shown(entry.name);
}
