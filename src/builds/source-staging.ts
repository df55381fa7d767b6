import { randomUUID } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ArchiveFormat } from "../archive/detect-format.ts";
import { extractArchive } from "../archive/extract-archive.ts";
import type { BuildPaths } from "./build-paths.ts";

export type ExtractLimits = { readonly maxBytes: number; readonly maxEntries: number };

/** A folder of its own under `{base}/.incoming` for one upload while it is received and checked. */
export type Staging = {
  readonly dir: string;
  /** Where the upload's bytes are written. */
  readonly uploadFile: string;
  /** Removes everything staged (idempotent). */
  discard(): Promise<void>;
};

export type StagedSource = {
  readonly staging: Staging;
  /** The extracted build context, Dockerfile at its root. */
  readonly contextDir: string;
  /** sha256 hex of the uploaded bytes. */
  readonly digest: string;
  readonly bytes: number;
  readonly format: ArchiveFormat;
  readonly entries: number;
};

export async function createStaging(paths: BuildPaths): Promise<Staging> {
  const dir = join(paths.incoming, randomUUID());
  await mkdir(dir, { recursive: true });
  return {
    dir,
    uploadFile: join(dir, "upload"),
    discard: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Extracts a received upload next to it (refusing it, with an ArchiveError, when it is not a
 * safe zip/tar/tar.gz with a Dockerfile), then drops the archive itself.
 */
export async function extractStaged(
  staging: Staging,
  upload: { readonly digest: string; readonly bytes: number },
  limits: ExtractLimits,
): Promise<StagedSource> {
  const contextDir = join(staging.dir, "context");
  const result = await extractArchive(staging.uploadFile, contextDir, {
    ...limits,
    requireDockerfile: true,
  });
  await rm(staging.uploadFile, { force: true });
  return {
    staging,
    contextDir,
    digest: upload.digest,
    bytes: upload.bytes,
    format: result.format,
    entries: result.entries,
  };
}

export type InstalledSource = {
  /** Puts the previous source back (the change was not recorded). */
  restore(): Promise<void>;
  /** Forgets the previous source. */
  commit(): Promise<void>;
};

/**
 * Moves a staged context to `target` by renames (same filesystem), keeping what was there
 * aside until the caller commits or restores.
 */
export async function installSource(
  staged: StagedSource,
  target: string,
): Promise<InstalledSource> {
  await mkdir(dirname(target), { recursive: true });
  const aside = join(dirname(target), `.replaced-${randomUUID()}`);
  let hadPrevious = true;
  try {
    await rename(target, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    hadPrevious = false;
  }
  try {
    await rename(staged.contextDir, target);
  } catch (error) {
    if (hadPrevious) await rename(aside, target);
    throw error;
  }
  return {
    async restore() {
      await rm(target, { recursive: true, force: true });
      if (hadPrevious) await rename(aside, target);
    },
    async commit() {
      if (hadPrevious) await rm(aside, { recursive: true, force: true });
    },
  };
}
