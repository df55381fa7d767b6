import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { hashToken } from "../../src/auth/tokens.ts";
import { createLogger } from "../../src/logger.ts";
import { imagesChannel } from "../../src/store/channels.ts";
import { openStore, type Store, withQueryPlugin } from "../../src/store/database.ts";
import { startEmbeddedAutovacuum, vacuumWhereNeeded } from "../../src/store/embedded-autovacuum.ts";
import { migrate, readMigrations } from "../../src/store/migrate.ts";
import { openPgliteBackend } from "../../src/store/pglite-backend.ts";
import { runInOrder } from "../../src/store/pipeline.ts";
import { openPostgresBackend } from "../../src/store/postgres-backend.ts";
import { SharedTransactionRolledBack } from "../../src/store/shared-transaction.ts";
import { LeadershipLostError } from "../../src/store/sql-backend.ts";
import { createTokensRepository } from "../../src/store/tokens-repository.ts";
import { createUsersRepository } from "../../src/store/users-repository.ts";
import { createScratchDatabase } from "../support/databases.ts";
import { seedImage } from "../support/seed-image.ts";
import { type Backend, backends } from "../support/services.ts";
import { waitFor } from "../support/wait.ts";

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function freshStore(backend: Backend): Promise<{ store: Store; url?: string }> {
  if (backend === "pglite") {
    const store = await openStore({ kind: "pglite", dataDir: undefined });
    cleanups.push(() => store.close());
    return { store };
  }
  const database = await createScratchDatabase();
  cleanups.push(database.drop);
  const store = await openStore({ kind: "postgres", url: database.url });
  cleanups.push(() => store.close());
  return { store, url: database.url };
}

describe.each(backends())("store on %s", (backend) => {
  it("applies every migration once, and a second run applies none", async () => {
    const { store, url } = await freshStore(backend);
    const migrations = await readMigrations();
    expect(migrations.length).toBeGreaterThan(0);
    const again =
      backend === "pglite"
        ? undefined
        : await (async () => {
            const raw = await openPostgresBackend(url as string);
            try {
              return await migrate(raw, migrations);
            } finally {
              await raw.close();
            }
          })();
    if (again !== undefined) expect(again).toEqual([]);
    const applied = await store.db
      .selectFrom("schema_migrations" as never)
      .select("name" as never)
      .execute();
    expect(applied).toHaveLength(migrations.length);
  });

  it("reads text fields whole and in place: multi-byte, empty, NULL, long, and their neighbours", async () => {
    const { store } = await freshStore(backend);
    const { rows } = await sql<Record<string, unknown>>`
      select 'é✓𝄞' as a, null::text as b, '' as c, repeat('ü', 40000) as d, 42 as e, 'z' as f
    `.execute(store.db);
    expect(rows).toEqual([{ a: "é✓𝄞", b: null, c: "", d: "ü".repeat(40_000), e: 42, f: "z" }]);
  });

  it("runs a transaction's first statement inside it (BEGIN travels with it): one snapshot, undone by a rollback", async () => {
    const { store } = await freshStore(backend);
    await sql`create table transaction_probe (id int primary key)`.execute(store.db);
    const times = await store.db.transaction().execute(async (trx) => {
      const first = await sql<{ at: string }>`select now()::text as at`.execute(trx);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const second = await sql<{ at: string }>`select now()::text as at`.execute(trx);
      return [first.rows[0]?.at, second.rows[0]?.at];
    });
    // now() is the transaction's start: the same for both only when both ran in it.
    expect(times[0]).toBe(times[1]);
    await expect(
      store.db.transaction().execute(async (trx) => {
        await sql`insert into transaction_probe values (1)`.execute(trx);
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    await expect(
      store.db.transaction().execute(async (trx) => {
        await sql`insert into transaction_probe values (2)`.execute(trx);
        await sql`select 1 / 0`.execute(trx);
      }),
    ).rejects.toThrow(/division by zero/);
    // A failing first statement reports its own error and leaves the connection usable.
    await expect(
      store.db.transaction().execute(async (trx) => {
        await sql`insert into transaction_probe values (3, 3)`.execute(trx);
      }),
    ).rejects.toThrow(/more expressions than target columns/);
    await store.db.transaction().execute(async () => {});
    const { rows } = await sql<{ id: number }>`select id from transaction_probe`.execute(store.db);
    expect(rows).toEqual([]);
  });

  it("runs works together in a shared transaction: committed together, a refusal on a read alone, rolled back whole when one throws after writing", async () => {
    const { store } = await freshStore(backend);
    const names = async () =>
      (
        await store.db
          .selectFrom("users")
          .select("name")
          .where("name", "like", "shared-%")
          .orderBy("name")
          .execute()
      ).map((row) => row.name);
    const outcomes = await store.sharedTransaction(
      [
        async (tx) => (await tx.users.create("shared-a")).name,
        async (tx) => {
          await tx.users.findByName("shared-a");
          throw new Error("refused on what it read");
        },
        async (tx) => (await tx.users.create("shared-b")).name,
      ],
      250,
    );
    expect(outcomes).toEqual([
      { status: "committed", value: "shared-a" },
      { status: "refused", reason: new Error("refused on what it read") },
      { status: "committed", value: "shared-b" },
    ]);
    expect(await names()).toEqual(["shared-a", "shared-b"]);

    const rolledBack = store.sharedTransaction(
      [
        async (tx) => (await tx.users.create("shared-c")).name,
        async (tx) => {
          await tx.users.create("shared-d");
          throw new Error("refused after writing");
        },
      ],
      250,
    );
    await expect(rolledBack).rejects.toBeInstanceOf(SharedTransactionRolledBack);
    await expect(rolledBack).rejects.toMatchObject({ cause: new Error("refused after writing") });
    // A statement that fails aborts the transaction: nothing of any work stays either.
    await expect(
      store.sharedTransaction(
        [
          async (tx) => (await tx.users.create("shared-e")).name,
          async (tx) => (await tx.users.create("shared-a")).name,
        ],
        250,
      ),
    ).rejects.toBeInstanceOf(SharedTransactionRolledBack);
    expect(await names()).toEqual(["shared-a", "shared-b"]);
  });

  it("runs statements in order in one go: a later one sees what committed while an earlier one waited for a lock", async () => {
    const { store, url } = await freshStore(backend);
    await sql`create table pipeline_probe (id int primary key)`.execute(store.db);
    const lockKey = 424_242;
    let release = () => {};
    let writer: Promise<void> = Promise.resolve();
    if (url !== undefined) {
      // Another session holds the lock, and inserts a row it commits as it lets go.
      const other = await openStore({ kind: "postgres", url });
      cleanups.push(() => other.close());
      const held = new Promise<void>((resolve) => {
        writer = other.db.transaction().execute(async (trx) => {
          await sql`select pg_advisory_xact_lock(${lockKey})`.execute(trx);
          await sql`insert into pipeline_probe values (1)`.execute(trx);
          resolve();
          await new Promise<void>((resolveRelease) => {
            release = resolveRelease;
          });
        });
      });
      await held;
    } else {
      await sql`insert into pipeline_probe values (1)`.execute(store.db);
    }
    const reading = store.db
      .transaction()
      .execute((trx) =>
        runInOrder(trx, [
          sql`select pg_advisory_xact_lock(${lockKey})`.compile(trx),
          sql`select count(*)::int as count from pipeline_probe`.compile(trx),
        ]),
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await writer;
    const [locked, counted] = await reading;
    expect(locked?.rows).toHaveLength(1);
    expect(counted?.rows).toEqual([{ count: 1 }]);
    // A failing statement's error is the answer, and the transaction is undone.
    await expect(
      store.db.transaction().execute(async (trx) => {
        await sql`insert into pipeline_probe values (2)`.execute(trx);
        await runInOrder(trx, [
          sql`select 1 / 0`.compile(trx),
          sql`select count(*) from pipeline_probe`.compile(trx),
        ]);
      }),
    ).rejects.toThrow(/division by zero/);
    const { rows } = await sql<{ id: number }>`select id from pipeline_probe`.execute(store.db);
    expect(rows).toEqual([{ id: 1 }]);
  });

  it("grants the leader lock, whose check passes while held and refuses once released", async () => {
    const { store } = await freshStore(backend);
    const lock = await store.tryLeaderLock({
      key: 515_151,
      name: "controller:store-test",
      holder: "test",
    });
    if (lock === undefined) throw new Error("expected the lock");
    await expect(lock.confirm()).resolves.toBeUndefined();
    await lock.release();
    await expect(lock.confirm()).rejects.toThrow(LeadershipLostError);
  });

  it("reads an image's instances, then its resource_version (a reconcile pass's reads)", async () => {
    const { store } = await freshStore(backend);
    const owner = await store.users.create("pass-reads");
    const image = await seedImage(
      store,
      owner,
      { name: "pass", desired_instances: 1 },
      { sourceType: "upload", builtImagePrefix: "test" },
    );
    await store.instances.insert([
      { id: "pass-1", image_id: image.id, user_id: owner.id, container_name: "pass-1" },
    ]);
    // A write that leaves the spec (and the generation) alone still moves the version on.
    const written = await store.images.writeDesired(image.id, { bumpGeneration: false });
    expect(written.generation).toBe(image.generation);
    const read = await store.instances.listOfImageThenVersion(image.id);
    expect(read.instances.map((instance) => instance.id)).toEqual(["pass-1"]);
    expect(read.instances[0]?.created_at).toBeInstanceOf(Date);
    expect(read.resourceVersion).toBe(image.resource_version + 1);
    await store.images.writeDesired(image.id, {
      columns: { desired_instances: 2 },
      bumpGeneration: false,
    });
    expect((await store.instances.listOfImageThenVersion(image.id)).resourceVersion).toBe(
      image.resource_version + 2,
    );
    expect(await store.instances.listOfImageThenVersion(image.id + 1_000)).toEqual({
      instances: [],
      resourceVersion: undefined,
    });
  });

  it("delivers NOTIFY to a listener, on commit", async () => {
    const { store } = await freshStore(backend);
    const received: string[] = [];
    const unlisten = await store.listen(imagesChannel, (payload) => received.push(payload));
    await store.transaction(async (tx) => {
      await tx.images.notifyChanged(42);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([]);
    });
    await expect.poll(() => received, { timeout: 5_000 }).toEqual(["42"]);
    await unlisten();
  });

  it("stores tokens only as hashes and finds their owner", async () => {
    const { store } = await freshStore(backend);
    const tokens = createTokensRepository(store.db);
    const carol = await createUsersRepository(store.db).create("carol");
    const token = (name: string, secret: string, expiresAt: Date | null = null) =>
      tokens.create({
        userId: carol.id,
        name,
        scope: "write",
        expiresAt,
        tokenHash: hashToken(secret),
      });
    const created = await token("ci", "orc_secret_value_123");
    await token("laptop", "orc_other_value_456");
    await token("old", "orc_expired_value_789", new Date(Date.now() - 1_000));
    expect(await tokens.findActiveByHash(hashToken("orc_secret_value_123"))).toMatchObject({
      id: created.id,
      user_id: carol.id,
      user_name: "carol",
      scope: "write",
    });
    expect(await tokens.findActiveByHash(hashToken("orc_unknown"))).toBeUndefined();
    expect(await tokens.findActiveByHash(hashToken("orc_expired_value_789"))).toBeUndefined();
    await tokens.delete(created.id);
    expect(await tokens.findActiveByHash(hashToken("orc_secret_value_123"))).toBeUndefined();
    expect((await tokens.list(carol.id)).map((listed) => listed.name)).toEqual(["laptop", "old"]);
    const rows = await store.db.selectFrom("api_tokens").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain("orc_secret_value_123");
  });

  it("looks up the tokens that requests present at once in one statement, each its own, never from a cache", async () => {
    const { store: plain } = await freshStore(backend);
    let statements = 0;
    const store = withQueryPlugin(plain, {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        statements += 1;
        return args.result;
      },
    });
    const dave = await store.users.create("dave");
    const erin = await store.users.create("erin");
    // Hashes are hex, but the statement takes any string whole: quotes, backslashes, commas
    // and braces are each one element of the array, and only themselves.
    const hashes = ['a"b', "c\\d", "e,f", "{g}", "plain"];
    const created = [];
    for (const [index, tokenHash] of hashes.entries()) {
      created.push(
        await store.tokens.create({
          userId: index % 2 === 0 ? dave.id : erin.id,
          name: `t${index}`,
          scope: "write",
          expiresAt: index === 4 ? new Date(Date.now() - 1_000) : null,
          tokenHash,
        }),
      );
    }
    const before = statements;
    const found = await Promise.all(
      [...hashes, "e", "{g}", "nothing", "a\0b"].map((hash) => store.tokens.findActiveByHash(hash)),
    );
    expect(statements - before).toBe(1);
    expect(found.map((token) => token?.id)).toEqual([
      created[0]?.id,
      created[1]?.id,
      created[2]?.id,
      created[3]?.id,
      undefined, // expired
      undefined, // a prefix of one
      created[3]?.id,
      undefined,
      undefined, // no text holds a NUL: it names no token, and fails no one else's lookup
    ]);
    expect(found.map((token) => token?.user_name)).toEqual([
      "dave",
      "erin",
      "dave",
      "erin",
      undefined,
      undefined,
      "erin",
      undefined,
      undefined,
    ]);
    // Revoked: the next lookup reads the database again and finds nothing.
    await store.tokens.delete(created[0]?.id as number);
    expect(await store.tokens.findActiveByHash('a"b')).toBeUndefined();
    expect(statements - before).toBe(3);
  });
});

describe.runIf(backends().includes("postgres"))("migrations on a Postgres server", () => {
  it("are safe when several processes start at once", async () => {
    const database = await createScratchDatabase();
    cleanups.push(database.drop);
    const migrations = await readMigrations();
    const clients = await Promise.all(
      Array.from({ length: 4 }, () => openPostgresBackend(database.url, { maxConnections: 1 })),
    );
    try {
      const results = await Promise.all(clients.map((client) => migrate(client, migrations)));
      // Exactly one process applied them all; the others found nothing to do.
      expect(results.map((names) => names.length).sort()).toEqual([0, 0, 0, migrations.length]);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });

  it("leave the schema untouched when one fails", async () => {
    const database = await createScratchDatabase();
    cleanups.push(database.drop);
    const raw = await openPostgresBackend(database.url);
    try {
      const broken = [
        { name: "0001_ok", script: "create table first_table (id int);" },
        { name: "0002_broken", script: "create table second_table (id int); select nonsense;" },
      ];
      await expect(migrate(raw, broken)).rejects.toThrow(/migration 0002_broken failed/);
      const tables = await raw.scriptTransaction((trx) =>
        trx.query<{ n: number }>(
          "select count(*)::int as n from pg_tables where tablename in ('first_table','second_table')",
        ),
      );
      expect(tables[0]?.n).toBe(0);
    } finally {
      await raw.close();
    }
  });
});

describe("embedded database", () => {
  it("keeps its data across a reopen", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const dir = await mkdtemp(`${tmpdir()}/orch-pglite-`);
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await openStore({ kind: "pglite", dataDir: `${dir}/pglite` });
    await createUsersRepository(first.db).create("dave");
    await first.close();
    const second = await openStore({ kind: "pglite", dataDir: `${dir}/pglite` });
    try {
      expect(await createUsersRepository(second.db).findByName("dave")).toBeDefined();
    } finally {
      await second.close();
    }
  });

  /**
   * An embedded database whose `users` table churned (300 updates of one row) and whose
   * statistics count the dead rows; `users` reads that table's activity.
   */
  async function churnedStore() {
    const store = await openStore({ kind: "pglite", dataDir: undefined });
    cleanups.push(() => store.close());
    const user = await store.users.create("churn");
    for (let round = 0; round < 300; round++) {
      await store.db
        .updateTable("users")
        .set({ quota_images: round })
        .where("id", "=", user.id)
        .execute();
    }
    const users = async () =>
      (await store.maintenance.tableActivity()).find((table) => table.table === "users");
    // The statistics reach the shared counters at a transaction's end, at most once a second.
    await waitFor(users, (table) => (table?.deadRows ?? 0) > 50, {
      what: "the users table's dead rows counted",
    });
    return { store, users };
  }

  it("vacuums and analyzes what churned, as a server's autovacuum would (it has none)", async () => {
    const { store, users } = await churnedStore();
    expect(await vacuumWhereNeeded(store)).toContain("users");
    expect((await users())?.deadRows).toBe(0);
    // Nothing past the thresholds any more: the next round does nothing.
    expect(await vacuumWhereNeeded(store)).toEqual([]);
    expect((await store.users.findByName("churn"))?.quota_images).toBe(299);
  });

  it("runs those rounds by itself until stopped", async () => {
    const { store, users } = await churnedStore();
    expect((await users())?.vacuumedAt).toBeNull();
    const rounds = startEmbeddedAutovacuum(store, createLogger("silent"), 20);
    try {
      await waitFor(users, (table) => table?.vacuumedAt != null && table.deadRows === 0, {
        what: "the users table vacuumed by a round",
      });
    } finally {
      await rounds.stop();
    }
  });

  it("uses PGlite without a data folder when asked (in memory)", async () => {
    const backend = await openPgliteBackend(undefined);
    expect(backend.kind).toBe("pglite");
    await backend.close();
  });
});
