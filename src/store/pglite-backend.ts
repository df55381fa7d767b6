import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGliteDialect } from "kysely-pglite-dialect";
import type { SqlBackend } from "./sql-backend.ts";

/**
 * Embedded Postgres (WebAssembly) in a folder, or in memory when `dataDir` is undefined.
 * One process at a time per folder: callers hold a DataDirLock.
 */
export async function openPgliteBackend(dataDir: string | undefined): Promise<SqlBackend> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir === undefined ? undefined : { dataDir });
  let closed = false;
  return {
    kind: "pglite",
    dialect: new PGliteDialect(client),
    scriptTransaction: (work) =>
      client.transaction((transaction) =>
        work({
          exec: async (script) => {
            await transaction.exec(script);
          },
          query: async <Row>(text: string, parameters: readonly unknown[] = []) =>
            (await transaction.query<Row>(text, [...parameters])).rows,
        }),
      ),
    listen: async (channel, handler) => {
      const unsubscribe = await client.listen(channel, handler);
      return async () => {
        if (!closed) await unsubscribe();
      };
    },
    // One process per data folder (see data-dir-lock.ts): it is always the leader, and there
    // is nobody to fence off (epoch 0, every check passes). One connection never drops, so a
    // subscription never needs to come back either.
    tryLeaderLock: async () => ({
      epoch: 0,
      lost: new Promise<void>(() => {}),
      confirm: async () => {},
      release: async () => {},
    }),
    close: async () => {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}
