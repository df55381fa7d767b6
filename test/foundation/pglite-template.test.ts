import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { createGzip } from "node:zlib";
import { sql } from "kysely";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/database.ts";
import { type Migration, readMigrations } from "../../src/store/migrate.ts";
import {
  migrationDigest,
  readTemplate,
  type TemplateManifest,
} from "../../src/store/pglite-template.ts";

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "orch-template-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function open(
  dataDir: string | undefined,
  options: { templateDirectory?: URL | null; migrations?: readonly Migration[] } = {},
): Promise<Store> {
  const store = await openStore(
    {
      kind: "pglite",
      dataDir: dataDir === undefined ? undefined : path.join(dataDir, "pglite"),
      ...(options.templateDirectory === undefined
        ? {}
        : { templateDirectory: options.templateDirectory }),
    },
    options.migrations === undefined ? {} : { migrations: options.migrations },
  );
  cleanups.push(() => store.close());
  return store;
}

/** What a database holds beyond its rows: our schema, the catalog's size, encoding, version. */
async function schemaOf(store: Store): Promise<string[]> {
  const result = await sql<{ item: string }>`
    select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' '
           || is_nullable || ' ' || coalesce(column_default, '') as item
      from information_schema.columns where table_schema = 'public'
    union all
    select 'index ' || indexdef from pg_indexes where schemaname = 'public'
    union all
    select 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      from pg_constraint where connamespace = 'public'::regnamespace
    union all
    select 'trigger ' || tgrelid::regclass || ' ' || tgname from pg_trigger where not tgisinternal
    union all
    select 'function ' || proname || ' ' || md5(prosrc)
      from pg_proc where pronamespace = 'public'::regnamespace
    union all
    select 'catalog procs=' || (select count(*) from pg_proc) || ' types='
           || (select count(*) from pg_type) || ' collations='
           || (select count(*) from pg_collation) || ' extensions='
           || (select string_agg(extname || ' ' || extversion, ',' order by extname) from pg_extension)
    union all
    select 'database ' || current_setting('server_version_num')::int / 10000 || ' '
           || pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype
      from pg_database where datname = current_database()
    union all
    select 'setting ' || name || '=' || setting from pg_settings
      where name in ('wal_segment_size', 'data_checksums', 'block_size')
    order by 1
  `.execute(store.db);
  return result.rows.map((row) => row.item);
}

async function appliedMigrations(store: Store): Promise<string[]> {
  const result = await sql<{
    name: string;
  }>`select name from schema_migrations order by name`.execute(store.db);
  return result.rows.map((row) => row.name);
}

/** A template folder holding `files` (name → content) as its archive, listed for `migrations`. */
async function writeTemplate(
  files: Record<string, string>,
  migrations: readonly Migration[],
): Promise<URL> {
  const dir = await scratchDir();
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name }, content);
  pack.finalize();
  await pipeline(pack, createGzip(), createWriteStream(path.join(dir, "pglite.tar.gz")));
  const manifest: TemplateManifest = {
    pglite: "test",
    postgres: "test",
    migrations: migrations.map((migration) => ({
      name: migration.name,
      sha256: migrationDigest(migration),
    })),
  };
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  return pathToFileURL(`${dir}/`);
}

describe("a new embedded database starts from the template", () => {
  it("the committed template fits sql/ and the installed PGlite, and equals a database made by initdb", async () => {
    const template = await readTemplate();
    expect(template, "sql/template is missing: npm run pglite-template").toBeDefined();

    const fromTemplate = await open(await scratchDir());
    // When this fails, the template is out of date: npm run pglite-template makes it again.
    expect(fromTemplate.embedded).toEqual({ origin: "template" });
    const fromInitdb = await open(await scratchDir(), { templateDirectory: null });
    expect(fromInitdb.embedded?.origin).toBe("initdb");

    expect(await schemaOf(fromTemplate)).toEqual(await schemaOf(fromInitdb));
    expect(await appliedMigrations(fromTemplate)).toEqual(await appliedMigrations(fromInitdb));
    expect(await fromTemplate.users.findByName("admin")).toBeDefined();
  });

  it("applies the migrations written after the template on top of it", async () => {
    const migrations = [
      ...(await readMigrations()),
      { name: "9999_later", script: "create table later_one (id int primary key);" },
    ];
    const store = await open(await scratchDir(), { migrations });
    expect(store.embedded?.origin).toBe("template");
    expect(await appliedMigrations(store)).toEqual(migrations.map((migration) => migration.name));
    await sql`insert into later_one (id) values (1)`.execute(store.db);
  });

  it("is not used when one of its migrations changed since; initdb makes the database", async () => {
    const [first, ...rest] = await readMigrations();
    if (first === undefined) throw new Error("no migrations");
    const edited = { ...first, script: `${first.script}\n-- edited\n` };
    const store = await open(await scratchDir(), { migrations: [edited, ...rest] });
    expect(store.embedded?.origin).toBe("initdb");
    expect(store.embedded?.templateUnused).toContain(`migration ${first.name} changed`);
    expect(await store.users.findByName("admin")).toBeDefined();
  });

  it("falls back to initdb when Postgres refuses the template (another major version)", async () => {
    const migrations = await readMigrations();
    const templateDirectory = await writeTemplate({ PG_VERSION: "99\n" }, migrations);
    const dataDir = await scratchDir();
    const store = await open(dataDir, { templateDirectory, migrations });
    expect(store.embedded?.origin).toBe("initdb");
    expect(store.embedded?.templateUnused).toBeDefined();
    expect(await readFile(path.join(dataDir, "pglite", "PG_VERSION"), "utf8")).toBe("17\n");
    expect(await store.users.findByName("admin")).toBeDefined();
  });

  it("recovers from a first start killed midway: the half-made folders never become the database", async () => {
    const dataDir = await scratchDir();
    // A copy interrupted before its rename, and a folder an older version's initdb left
    // without PG_VERSION.
    await mkdir(path.join(dataDir, `pglite.staging-${randomUUID().slice(0, 8)}`, "base"), {
      recursive: true,
    });
    await mkdir(path.join(dataDir, "pglite", "base"), { recursive: true });
    await writeFile(path.join(dataDir, "pglite", "base", "half-written"), "x");

    const store = await open(dataDir);
    expect(store.embedded?.origin).toBe("template");
    expect(await store.users.findByName("admin")).toBeDefined();
    const entries = await readdir(dataDir);
    expect(entries.filter((entry) => entry.includes(".staging-"))).toEqual([]);
    const setAside = entries.filter((entry) => entry.startsWith("pglite.incomplete-"));
    expect(setAside).toHaveLength(1);
    expect(await readdir(path.join(dataDir, setAside[0] as string, "base"))).toEqual([
      "half-written",
    ]);
  });

  it("serves an in-memory database from the template too", async () => {
    const store = await open(undefined);
    expect(store.embedded).toEqual({ origin: "template" });
    expect(await store.users.findByName("admin")).toBeDefined();
  });
});
