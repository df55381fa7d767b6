import { randomUUID } from "node:crypto";
import { access, mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { extractArchive } from "../archive/extract-archive.ts";
import type { PgliteTemplate } from "./pglite-template.ts";

/** Where the database of this open came from. */
export type DataFolderOrigin = "existing" | "template" | "initdb";

/** A data folder is a few MB in ~1,000 files; these only stop a damaged archive. */
const templateLimits = { maxBytes: 512 * 1024 * 1024, maxEntries: 20_000 };

const stagingMarker = ".staging-";
const incompleteMarker = ".incomplete-";

/**
 * Makes sure `folder` holds a whole Postgres data folder before PGlite opens it, so that a
 * process killed at any moment of the first start leaves either no folder or a complete one.
 *
 * A data folder is complete once it has PG_VERSION. A new one is built beside it (`folder` +
 * `.staging-…`: a copy of the template, or PGlite's initdb), then renamed into place in one
 * step. At the next start a staging folder left by a killed process is deleted; a `folder`
 * without PG_VERSION (an earlier version's initdb cut short: Postgres never ran in it) is
 * moved aside, never deleted. The caller holds the DATA_DIR lock, so nobody else is building.
 */
export async function prepareDataFolder(
  folder: string,
  template: PgliteTemplate | undefined,
  initdb: (staging: string) => Promise<void>,
): Promise<DataFolderOrigin> {
  if (await exists(join(folder, "PG_VERSION"))) return "existing";
  const parent = dirname(folder);
  const name = basename(folder);
  await mkdir(parent, { recursive: true });
  for (const entry of await readdir(parent)) {
    if (entry.startsWith(`${name}${stagingMarker}`)) {
      await rm(join(parent, entry), { recursive: true, force: true });
    }
  }
  if (await exists(folder)) {
    await rename(folder, join(parent, `${name}${incompleteMarker}${Date.now()}`));
  }
  const staging = join(parent, `${name}${stagingMarker}${randomUUID().slice(0, 8)}`);
  try {
    if (template !== undefined) await extractArchive(template.archive, staging, templateLimits);
    else await initdb(staging);
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return template === undefined ? "initdb" : "template";
}

/** Deletes a data folder this process has just made (one Postgres refused to start on). */
export async function removeDataFolder(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
