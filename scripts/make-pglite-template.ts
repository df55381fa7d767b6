/**
 * `npm run pglite-template`: makes `sql/template/` again, the data folder a new embedded
 * database starts from (see src/store/pglite-template.ts). Run it after upgrading PGlite to
 * another Postgres major, or to fold new migrations into the template (optional: migrations
 * written after it are applied on top at every open). The integration test
 * test/foundation/pglite-template.test.ts says when it is due.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { packSource } from "../src/gitops/pack-source.ts";
import { migrate, readMigrations } from "../src/store/migrate.ts";
import { openPgliteBackend } from "../src/store/pglite-backend.ts";
import {
  migrationDigest,
  type TemplateManifest,
  templateDirectory,
} from "../src/store/pglite-template.ts";

const pglitePackage = JSON.parse(
  await readFile(
    new URL("../node_modules/@electric-sql/pglite/package.json", import.meta.url),
    "utf8",
  ),
) as { version: string };

const work = await mkdtemp(path.join(tmpdir(), "orchestrator-template-"));
try {
  const folder = path.join(work, "pglite");
  const migrations = await readMigrations();
  const backend = await openPgliteBackend(folder, { template: undefined });
  await migrate(backend, migrations);
  const [version] = await backend.scriptTransaction((transaction) =>
    transaction.query<{ server_version: string }>("show server_version"),
  );
  // A clean shutdown checkpoints: the copy starts without replaying any WAL.
  await backend.close();

  const packed = await packSource(folder, { directory: work });
  const target = fileURLToPath(templateDirectory);
  await copyFile(packed.file, path.join(target, "pglite.tar.gz"));
  const manifest: TemplateManifest = {
    pglite: pglitePackage.version,
    postgres: version?.server_version ?? "unknown",
    migrations: migrations.map((migration) => ({
      name: migration.name,
      sha256: migrationDigest(migration),
    })),
  };
  await writeFile(path.join(target, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  process.stdout.write(
    `sql/template: PGlite ${manifest.pglite} (Postgres ${manifest.postgres}), ${manifest.migrations.length} migrations, ${packed.entries} entries, ${packed.bytes} bytes\n`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
