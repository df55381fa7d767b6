import { sql } from "kysely";
import type { QuotaUsage } from "../domain/quota.ts";
import type { Executor } from "./executor.ts";

/** The instances an image asks for: its pool's max when it has a pool (sql/0016), else desired. */
const askedInstances = sql<number>`(case when jsonb_typeof(container_options -> 'pool') = 'object'
  then greatest(desired_instances, (container_options -> 'pool' ->> 'max')::int)
  else desired_instances end)`;

/** What a user's images ask for (those not being deleted), as doubles: no total can overflow. */
export function usageQuery(db: Executor, userId: number) {
  return db
    .selectFrom("images")
    .select([
      sql<number>`count(*)::float8`.as("images"),
      sql<number>`coalesce(sum(${askedInstances}), 0)::float8`.as("instances"),
      sql<number>`coalesce(sum(${askedInstances}::numeric * nano_cpus), 0)::float8`.as("nanoCpus"),
      sql<number>`coalesce(sum(${askedInstances}::numeric * memory_bytes), 0)::float8`.as(
        "memoryBytes",
      ),
    ])
    .where("user_id", "=", userId)
    .where("status", "<>", "deleting");
}

/** The columns of usageQuery. */
export const usageColumns = ["images", "instances", "nanoCpus", "memoryBytes"] as const;

export function usageOfRow(row: Record<string, unknown>): QuotaUsage {
  return {
    images: Number(row.images),
    instances: Number(row.instances),
    nanoCpus: Number(row.nanoCpus),
    memoryBytes: Number(row.memoryBytes),
  };
}

/**
 * The usage (usageQuery) and the user's row, in one statement: for a transaction that holds the
 * user's quota lock already, so that this statement's snapshot includes every write that held
 * it before.
 */
export function usageAndUserQuery(db: Executor, userId: number) {
  return db
    .selectFrom(usageQuery(db, userId).as("usage"))
    .leftJoin("users", (join) => join.on("users.id", "=", userId))
    .selectAll("users")
    .select(usageColumns.map((column) => `usage.${column}` as const));
}
