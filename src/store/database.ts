import path from "node:path";
import { Kysely, type KyselyPlugin, sql } from "kysely";
import { lockDataDir } from "./data-dir-lock.ts";
import type { Executor } from "./executor.ts";
import { createMaintenanceRepository } from "./maintenance-repository.ts";
import { type Migration, migrate, readMigrations } from "./migrate.ts";
import { StripNulPlugin } from "./nul-bytes.ts";
import { openPgliteBackend } from "./pglite-backend.ts";
import type { DataFolderOrigin } from "./pglite-data-folder.ts";
import { type PgliteTemplate, readTemplate, templateMismatch } from "./pglite-template.ts";
import { openPostgresBackend, type PostgresBackendOptions } from "./postgres-backend.ts";
import { type PublisherClaim, publisherClaim } from "./publisher-claim.ts";
import { type Repositories, repositoriesOf } from "./repositories.ts";
import type { Database } from "./schema.ts";
import { runSharedTransaction, type SharedOutcome } from "./shared-transaction.ts";
import type { NotificationHandler, SqlBackend } from "./sql-backend.ts";
import { lookupsTogether, type Together } from "./together.ts";

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
  /**
   * Group commit: independent works (never two on the same rows) in one transaction, their
   * statements sent together where the connection allows; see shared-transaction.ts for when it
   * commits and when it throws SharedTransactionRolledBack.
   */
  sharedTransaction<T>(
    works: ReadonlyArray<(tx: Repositories) => Promise<T>>,
    lockTimeoutMs: number,
  ): Promise<SharedOutcome<T>[]>;
  /**
   * Subscribes to a NOTIFY channel on either backend. `onResubscribed` is called when the
   * subscription is back after a lost connection: notifications may have been missed.
   */
  listen(
    channel: string,
    handler: NotificationHandler,
    onResubscribed?: () => void,
  ): Promise<() => Promise<void>>;
  /** Leader election: a session lock held while this process runs the controller. */
  tryLeaderLock: SqlBackend["tryLeaderLock"];
  /** The sole right to publish events, for one relay pass. */
  claimPublisher: PublisherClaim;
  /** Vacuum and analyze, which only the embedded database needs done for it (no autovacuum). */
  readonly maintenance: ReturnType<typeof createMaintenanceRepository>;
  /** How the embedded database was opened (undefined on a Postgres server), for the log. */
  readonly embedded?: EmbeddedOpening;
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
  | ({ readonly kind: "postgres"; readonly url: string } & PostgresBackendOptions)
  | {
      readonly kind: "pglite";
      readonly dataDir: string | undefined;
      /** Where the template for a new database is; null for none (initdb). Tests set it. */
      readonly templateDirectory?: URL | null;
    };

export type EmbeddedOpening = {
  readonly origin: DataFolderOrigin;
  /** Why a new database did not start from the template, when it did not. */
  readonly templateUnused?: string;
};

export type OpenOptions = {
  /** The migrations to apply; those of sql/ by default. */
  readonly migrations?: readonly Migration[];
};

/** Opens the database, applies pending migrations, and returns the store. */
export async function openStore(
  location: StoreLocation,
  options: OpenOptions = {},
): Promise<Store> {
  const migrations = options.migrations ?? (await readMigrations());
  let unlock = async () => {};
  let backend: SqlBackend;
  let embedded: EmbeddedOpening | undefined;
  if (location.kind === "postgres") {
    const { kind: _, url, ...options } = location;
    backend = await openPostgresBackend(url, options);
  } else {
    if (location.dataDir !== undefined) unlock = await lockDataDir(path.dirname(location.dataDir));
    try {
      const choice = await chooseTemplate(location.templateDirectory, migrations);
      const pglite = await openPgliteBackend(location.dataDir, { template: choice.template });
      backend = pglite;
      const templateUnused = pglite.templateRefused ?? choice.unused;
      embedded = {
        origin: pglite.origin,
        ...(pglite.origin === "existing" || templateUnused === undefined ? {} : { templateUnused }),
      };
    } catch (error) {
      await unlock();
      throw error;
    }
  }
  try {
    await migrate(backend, migrations);
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
    listen: (channel, handler, onResubscribed) => backend.listen(channel, handler, onResubscribed),
    tryLeaderLock: (lease) => backend.tryLeaderLock(lease),
    claimPublisher: publisherClaim(db, backend.kind),
    maintenance: createMaintenanceRepository(db),
    ...(embedded === undefined ? {} : { embedded }),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      // On a server, the backend ends its connections first, with a deadline (kysely's destroy
      // would wait without one for a connection that died mid-query), and the leader session.
      if (backend.kind === "postgres") await backend.close();
      await db.destroy();
      await unlock();
    },
  };
}

/** The template a new embedded database starts from, or why there is none to use. */
async function chooseTemplate(
  directory: URL | null | undefined,
  migrations: readonly Migration[],
): Promise<{ template?: PgliteTemplate; unused?: string }> {
  if (directory === null) return { unused: "no template asked for" };
  const template = await readTemplate(directory);
  if (template === undefined) return { unused: "there is no template (npm run pglite-template)" };
  const mismatch = templateMismatch(template.manifest, migrations);
  return mismatch === undefined ? { template } : { unused: mismatch };
}

/** The repositories, transactions and query builder of a store, on one executor. */
function queriesOn(db: Executor) {
  return {
    ...repositoriesOf(db, undefined, lookupsTogether(db)),
    db,
    transaction: <T>(work: (tx: Repositories) => Promise<T>) =>
      db.transaction().execute((trx) => work(repositoriesOf(trx))),
    sharedTransaction: <T>(
      works: ReadonlyArray<(tx: Repositories) => Promise<T>>,
      lockTimeoutMs: number,
    ) =>
      runSharedTransaction(
        db,
        works.map(
          (work) => (trx: Executor, together: Together) => work(repositoriesOf(trx, together)),
        ),
        lockTimeoutMs,
      ),
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
