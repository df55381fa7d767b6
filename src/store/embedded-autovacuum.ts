import type { Logger } from "../logger.ts";
import { tablesNeedingVacuum } from "./autovacuum-policy.ts";
import type { Store } from "./database.ts";

/**
 * One round of the embedded database's autovacuum: the tables past Postgres's thresholds get a
 * VACUUM (ANALYZE), one after another (PGlite has one connection: each holds the others' queries
 * for as long as it takes, milliseconds for this service's tables). Returns what it vacuumed.
 */
export async function vacuumWhereNeeded(store: Pick<Store, "maintenance">): Promise<string[]> {
  const tables = tablesNeedingVacuum(await store.maintenance.tableActivity());
  for (const table of tables) await store.maintenance.vacuumAnalyze(table);
  return tables;
}

/**
 * A Postgres server vacuums and analyzes by itself; the embedded database runs in single-user
 * mode, without autovacuum's workers, so every updated or deleted row (status writes, outbox
 * rows, pruned events) would stay as dead space and the planner would never learn the tables'
 * sizes. This runs the same rule every `intervalMs` (default a minute). `stop` waits for a
 * round in flight, so that the database can close after it.
 */
export function startEmbeddedAutovacuum(
  store: Pick<Store, "maintenance">,
  logger: Logger,
  intervalMs = 60_000,
): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const round = async () => {
    const started = performance.now();
    const tables = await vacuumWhereNeeded(store);
    if (tables.length > 0) {
      logger.debug(
        { tables, ms: Math.round(performance.now() - started) },
        "embedded database vacuumed",
      );
    }
  };
  const schedule = () => {
    timer = setTimeout(() => {
      running = round()
        .catch((error: unknown) => logger.warn({ err: error }, "embedded vacuum failed"))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, intervalMs);
    timer.unref();
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
