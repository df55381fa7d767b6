import { readdir, readFile } from "node:fs/promises";
import type { SqlBackend } from "./sql-backend.ts";

export const migrationsDirectory = new URL("../../sql/", import.meta.url);

/** Any constant works; every process of this project uses the same one. */
const migrationLockKey = 7_246_001;

export type Migration = { readonly name: string; readonly script: string };

export async function readMigrations(directory: URL = migrationsDirectory): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file));
  files.sort();
  return Promise.all(
    files.map(async (file) => ({
      name: file.replace(/\.sql$/, ""),
      script: await readFile(new URL(file, directory), "utf8"),
    })),
  );
}

/**
 * Applies the pending migrations in order, all in one transaction under a transaction-level
 * advisory lock: two processes starting together never migrate at once, and a failing
 * migration leaves the schema as it was. Returns the names applied by this call.
 */
export async function migrate(
  backend: SqlBackend,
  migrations: readonly Migration[],
): Promise<string[]> {
  return backend.scriptTransaction(async (transaction) => {
    await transaction.query("select pg_advisory_xact_lock($1)", [migrationLockKey]);
    // DDL only the first time: every start runs this, and on the embedded database a utility
    // statement costs more than the lookup.
    const [table] = await transaction.query<{ exists: boolean }>(
      "select to_regclass('schema_migrations') is not null as exists",
    );
    if (table?.exists !== true) {
      await transaction.exec(
        `create table if not exists schema_migrations (
           name text primary key,
           applied_at timestamptz not null default now()
         )`,
      );
    }
    const applied = new Set(
      (await transaction.query<{ name: string }>("select name from schema_migrations")).map(
        (row) => row.name,
      ),
    );
    const appliedNow: string[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.name)) continue;
      try {
        await transaction.exec(migration.script);
      } catch (error) {
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      await transaction.query("insert into schema_migrations (name) values ($1)", [migration.name]);
      appliedNow.push(migration.name);
    }
    return appliedNow;
  });
}
