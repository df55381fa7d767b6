import { sql } from "kysely";
import type { Executor } from "./executor.ts";

/** What the statistics say about a table since its last vacuum and analyze. */
export type TableActivity = {
  readonly table: string;
  /** Rows the last vacuum or analyze counted (its estimate; 0 before either ran). */
  readonly rows: number;
  readonly deadRows: number;
  readonly modifiedSinceAnalyze: number;
  /** When a VACUUM of ours last ran on it (null: never). */
  readonly vacuumedAt: Date | null;
};

/**
 * Table upkeep that a Postgres server's autovacuum does by itself and the embedded database
 * (single-user mode: no background workers) does not. Outside any transaction: VACUUM cannot run
 * in one.
 */
export function createMaintenanceRepository(db: Executor) {
  return {
    /** The activity of this database's own tables (`public`). */
    async tableActivity(): Promise<TableActivity[]> {
      const { rows } = await sql<{
        table: string;
        rows: number | string | null;
        dead_rows: number | string;
        modified: number | string;
        vacuumed_at: Date | string | null;
      }>`select s.relname as table, c.reltuples as rows, s.n_dead_tup as dead_rows,
                s.n_mod_since_analyze as modified, s.last_vacuum as vacuumed_at
           from pg_stat_user_tables s join pg_class c on c.oid = s.relid
          where s.schemaname = 'public'
          order by s.relname`.execute(db);
      return rows.map((row) => ({
        table: row.table,
        rows: Math.max(0, Number(row.rows ?? 0)),
        deadRows: Number(row.dead_rows),
        modifiedSinceAnalyze: Number(row.modified),
        vacuumedAt: row.vacuumed_at === null ? null : new Date(row.vacuumed_at),
      }));
    },

    /** VACUUM (ANALYZE) of one table of ours: dead rows become free space, plans see sizes. */
    async vacuumAnalyze(table: string): Promise<void> {
      await sql`vacuum (analyze) ${sql.table(`public.${table}`)}`.execute(db);
    },
  };
}
