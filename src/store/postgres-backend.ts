import { PostgresJSDialect } from "kysely-postgres-js";
import postgres from "postgres";
import type { SqlBackend } from "./sql-backend.ts";

export type PostgresBackendOptions = {
  readonly maxConnections?: number;
  readonly onNotice?: (message: string) => void;
};

/** A Postgres server reached through postgres.js. int8 values come back as numbers, as on PGlite. */
export async function openPostgresBackend(
  url: string,
  options: PostgresBackendOptions = {},
): Promise<SqlBackend> {
  const client = postgres(url, {
    max: options.maxConnections ?? 10,
    connect_timeout: 10,
    idle_timeout: 60,
    onnotice: (notice) => options.onNotice?.(String(notice.message)),
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number | bigint) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  });
  // Fail at start, with the driver's own reason, when the server cannot be reached.
  await client`select 1`;
  return {
    kind: "postgres",
    dialect: new PostgresJSDialect({ postgres: client }),
    scriptTransaction: async (work) =>
      (await client.begin((transaction) =>
        work({
          exec: async (script) => {
            await transaction.unsafe(script).simple();
          },
          query: async <Row>(text: string, parameters: readonly unknown[] = []) =>
            (await transaction.unsafe(text, parameters as never[])) as unknown as Row[],
        }),
      )) as never,
    listen: async (channel, handler) => {
      const subscription = await client.listen(channel, (payload) => handler(payload));
      return () => subscription.unlisten();
    },
    tryLeaderLock: async (key) => {
      const session = await client.reserve();
      let rows: Array<{ locked: boolean }>;
      try {
        rows = await session`select pg_try_advisory_lock(${key}) as locked`;
      } catch (error) {
        session.release();
        throw error;
      }
      if (rows[0]?.locked !== true) {
        session.release();
        return undefined;
      }
      let released = false;
      let markLost: () => void = () => {};
      const lost = new Promise<void>((resolve) => {
        markLost = resolve;
      });
      // A lock lives as long as its session: probe the connection, and report when it is gone.
      const probe = setInterval(() => {
        session`select 1`.catch(() => {
          clearInterval(probe);
          if (!released) markLost();
        });
      }, 5_000);
      probe.unref();
      return {
        lost,
        release: async () => {
          if (released) return;
          released = true;
          clearInterval(probe);
          await session`select pg_advisory_unlock(${key})`.catch(() => {});
          session.release();
        },
      };
    },
    close: () => client.end({ timeout: 5 }),
  };
}
