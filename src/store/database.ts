import path from "node:path";
import { Kysely, type KyselyPlugin, sql } from "kysely";
import { lockDataDir } from "./data-dir-lock.ts";
import type { Executor } from "./executor.ts";
import { migrate, readMigrations } from "./migrate.ts";
import { StripNulPlugin } from "./nul-bytes.ts";
import { openPgliteBackend } from "./pglite-backend.ts";
import { openPostgresBackend } from "./postgres-backend.ts";
import { type PublisherClaim, publisherClaim } from "./publisher-claim.ts";
import { type Repositories, repositoriesOf } from "./repositories.ts";
import type { Database } from "./schema.ts";
import type { NotificationHandler, SqlBackend } from "./sql-backend.ts";

export type Db = Kysely<Database>;

/**
 * The database as the rest of the service sees it: one repository per table (named queries in,
 * typed rows out), transactions that hand out the same repositories bound to the transaction,
 * NOTIFY subscriptions, the leader lock and the event publisher's claim.
 */
export type Store = Repositories & {
  readonly kind: SqlBackend["kind"];
  /**
   * Runs `work` in one transaction: every repository it is handed runs on it, and it commits
   * when `work` resolves (NOTIFYs are delivered then) or rolls back when it throws. On the
   * embedded database every query inside must use these repositories: PGlite has one
   * connection, and a query through the pool would wait for it forever.
   */
  transaction<T>(work: (tx: Repositories) => Promise<T>): Promise<T>;
  /** Subscribes to a NOTIFY channel on either backend. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** Leader election: a session lock held while this process runs the controller. */
  tryLeaderLock: SqlBackend["tryLeaderLock"];
  /** The sole right to publish events, for one relay pass. */
  claimPublisher: PublisherClaim;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * The query builder under the repositories. Only tests use it, to look at or bend rows;
   * the service speaks SQL through repositories alone.
   */
  readonly db: Executor;
};

export type StoreLocation =
  | { readonly kind: "postgres"; readonly url: string; readonly maxConnections?: number }
  | { readonly kind: "pglite"; readonly dataDir: string | undefined };

/** Opens the database, applies pending migrations, and returns the store. */
export async function openStore(location: StoreLocation): Promise<Store> {
  let unlock = async () => {};
  let backend: SqlBackend;
  if (location.kind === "postgres") {
    backend = await openPostgresBackend(
      location.url,
      location.maxConnections === undefined ? {} : { maxConnections: location.maxConnections },
    );
  } else {
    if (location.dataDir !== undefined) unlock = await lockDataDir(path.dirname(location.dataDir));
    try {
      backend = await openPgliteBackend(location.dataDir);
    } catch (error) {
      await unlock();
      throw error;
    }
  }
  try {
    await migrate(backend, await readMigrations());
  } catch (error) {
    await backend.close();
    await unlock();
    throw error;
  }
  const db = new Kysely<Database>({ dialect: backend.dialect, plugins: [new StripNulPlugin()] });
  let closed = false;
  return {
    ...queriesOn(db),
    kind: backend.kind,
    listen: (channel, handler) => backend.listen(channel, handler),
    tryLeaderLock: (key) => backend.tryLeaderLock(key),
    claimPublisher: publisherClaim(db, backend.kind),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
      await unlock();
    },
  };
}

/** The repositories, transactions and query builder of a store, on one executor. */
function queriesOn(db: Executor) {
  return {
    ...repositoriesOf(db),
    db,
    transaction: <T>(work: (tx: Repositories) => Promise<T>) =>
      db.transaction().execute((trx) => work(repositoriesOf(trx))),
  };
}

/** The same store with a kysely plugin on every query it runs (benchmarks count queries). */
export function withQueryPlugin(store: Store, plugin: KyselyPlugin): Store {
  return { ...store, ...queriesOn(store.db.withPlugin(plugin)) };
}

/** Where the embedded database lives inside DATA_DIR. */
export function embeddedDatabaseDir(dataDir: string): string {
  return path.join(dataDir, "pglite");
}
