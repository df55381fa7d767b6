import { mkdir, readdir, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { contextLayout, hoistFolder, missingDockerfile } from "./context-root.ts";
import { type ArchiveFormat, detectFormat } from "./detect-format.ts";
import { symlinksBelow } from "./entry-path.ts";
import { extractTar } from "./extract-tar.ts";
import { extractZip } from "./extract-zip.ts";
import { checkSymlink, createExtractionTarget, type ExtractLimits } from "./extraction-target.ts";

export type { ExtractLimits } from "./extraction-target.ts";

export type ExtractOptions = ExtractLimits & {
  /** Refuse (and clean up) when the context has no Dockerfile at its root. */
  readonly requireDockerfile?: boolean;
};

export type ExtractResult = {
  /** The build context: always `targetDir` (a single top-level folder is moved up into it). */
  readonly contextDir: string;
  readonly format: ArchiveFormat;
  /** Entries in the archive, folders included. */
  readonly entries: number;
  /** Bytes of file content written. */
  readonly bytes: number;
  /** The top-level folder whose content became the context, as in GitHub archives. */
  readonly strippedFolder: string | undefined;
  readonly hasDockerfile: boolean;
};

/**
 * Extracts an uploaded zip, tar or tar.gz (told apart by their first bytes) into `targetDir`,
 * which must be empty or missing. Entries stream to disk one at a time. A refused archive
 * rejects with an ArchiveError saying what was found, and leaves `targetDir` as it was:
 * empty, or missing when this call created it. Nothing is ever written outside it.
 */
export async function extractArchive(
  file: string,
  targetDir: string,
  options: ExtractOptions,
): Promise<ExtractResult> {
  const root = resolve(targetDir);
  const format = await detectFormat(file);
  const created = await prepareEmptyDirectory(root);
  const target = createExtractionTarget(root, options);
  try {
    if (format === "zip") await extractZip(file, target, options.maxBytes, options.maxEntries);
    else {
      await extractTar(file, format === "tar.gz", target, options.maxBytes, options.maxEntries);
    }
    await target.settle();
    const layout = await contextLayout(root);
    // Links are judged against the final context, with every symlink of the archive known:
    // a later symlink can turn an earlier one's ".." into a way out.
    const folder = layout.folder ?? "";
    const links = symlinksBelow(target.symlinks, folder);
    for (const [path, linkTarget] of links) {
      checkSymlink(folder === "" ? path : `${folder}/${path}`, path, linkTarget, links);
    }
    if (layout.folder !== undefined) await hoistFolder(root, layout.folder);
    if (!layout.hasDockerfile && options.requireDockerfile === true) {
      throw await missingDockerfile(root);
    }
    return {
      contextDir: root,
      format,
      entries: target.entries(),
      bytes: target.bytes(),
      strippedFolder: layout.folder,
      hasDockerfile: layout.hasDockerfile,
    };
  } catch (error) {
    // No write may land after the clean-up.
    await target.settle().catch(() => {});
    await cleanUp(root, created);
    throw error;
  }
}

/** Creates `root` if needed; refuses one that already holds something. True when created. */
async function prepareEmptyDirectory(root: string): Promise<boolean> {
  const made = await mkdir(root, { recursive: true });
  if (made !== undefined) return true;
  const existing = await readdir(root);
  if (existing.length > 0) throw new Error(`extraction target ${root} is not empty`);
  return false;
}

async function cleanUp(root: string, created: boolean): Promise<void> {
  if (created) {
    await rm(root, { recursive: true, force: true });
    return;
  }
  const children = await readdir(root);
  await Promise.all(
    children.map((child) => rm(join(root, child), { recursive: true, force: true })),
  );
}
