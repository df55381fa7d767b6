import type { TableActivity } from "./maintenance-repository.ts";

/**
 * Postgres's own autovacuum rule (its defaults: vacuum past 50 dead rows plus 20 % of the table,
 * analyze past 50 changed rows plus 10 %), for the embedded database, which has no autovacuum.
 * Pure: the tables' activity in, the tables to VACUUM (ANALYZE) out, most dead rows first.
 */
export function tablesNeedingVacuum(activity: readonly TableActivity[]): string[] {
  return activity
    .filter(
      (table) =>
        table.deadRows > 50 + 0.2 * table.rows ||
        table.modifiedSinceAnalyze > 50 + 0.1 * table.rows,
    )
    .toSorted((left, right) => right.deadRows - left.deadRows)
    .map((table) => table.table);
}
