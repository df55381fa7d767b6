import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Migration } from "./migrate.ts";

/**
 * A pre-initialised, pre-migrated embedded database: `sql/template/pglite.tar.gz`, a data folder
 * as PGlite's own initdb made it (with `pgliteInitdbParams`) with the migrations listed in its
 * manifest applied, checkpointed and packed. A new DATA_DIR starts as a copy of it instead of
 * running initdb in WebAssembly (seconds of CPU), and the migrations written since are applied
 * on top, as on any existing folder. `npm run pglite-template` makes it again.
 */
export const templateDirectory = new URL("../../sql/template/", import.meta.url);

export type TemplateManifest = {
  /** The PGlite package that made it, and the Postgres it runs (for people; not checked). */
  readonly pglite: string;
  readonly postgres: string;
  /** The migrations applied in it, in order, with the sha256 of each script. */
  readonly migrations: readonly { readonly name: string; readonly sha256: string }[];
};

export type PgliteTemplate = {
  /** The packed data folder (tar.gz, entries relative to the folder). */
  readonly archive: string;
  readonly manifest: TemplateManifest;
};

export function migrationDigest(migration: Migration): string {
  return createHash("sha256").update(migration.script).digest("hex");
}

/** The template in `directory`, or undefined when there is none. */
export async function readTemplate(
  directory: URL = templateDirectory,
): Promise<PgliteTemplate | undefined> {
  const archiveUrl = new URL("pglite.tar.gz", directory);
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(
      await readFile(new URL("manifest.json", directory), "utf8"),
    ) as TemplateManifest;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return { archive: archiveUrl.pathname, manifest };
}

/**
 * Why the template cannot stand for a fresh database with these migrations, or undefined when
 * it can: its migrations must be exactly the first ones of `migrations`, unchanged. A migration
 * edited since, or a new one sorted before the template's last, would make a copy differ from a
 * database migrated from scratch.
 */
export function templateMismatch(
  manifest: TemplateManifest,
  migrations: readonly Migration[],
): string | undefined {
  for (const [index, included] of manifest.migrations.entries()) {
    const current = migrations[index];
    if (current === undefined || current.name !== included.name) {
      return `migration ${included.name} of the template is not migration ${index + 1} of sql/ (${current?.name ?? "none"})`;
    }
    if (migrationDigest(current) !== included.sha256) {
      return `migration ${included.name} changed since the template was made`;
    }
  }
  return undefined;
}
