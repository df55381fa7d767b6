import path from "node:path";
import { Kysely, sql } from "kysely";
import { lockDataDir } from "./data-dir-lock.ts";
import { migrate, readMigrations } from "./migrate.ts";
import { openPgliteBackend } from "./pglite-backend.ts";
import { openPostgresBackend } from "./postgres-backend.ts";
import type { Database } from "./schema.ts";
import type { NotificationHandler, SqlBackend } from "./sql-backend.ts";

export type Db = Kysely<Database>;

export type Store = {
  readonly db: Db;
  readonly kind: SqlBackend["kind"];
  /** Subscribes to a NOTIFY channel on either backend. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** Leader election: a session lock held while this process runs the controller. */
  tryLeaderLock: SqlBackend["tryLeaderLock"];
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
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
  const db = new Kysely<Database>({ dialect: backend.dialect });
  let closed = false;
  return {
    db,
    kind: backend.kind,
    listen: (channel, handler) => backend.listen(channel, handler),
    tryLeaderLock: (key) => backend.tryLeaderLock(key),
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

/** Where the embedded database lives inside DATA_DIR. */
export function embeddedDatabaseDir(dataDir: string): string {
  return path.join(dataDir, "pglite");
}
