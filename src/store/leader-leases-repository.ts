import type { Executor } from "./executor.ts";

/**
 * Queries on `leader_leases`. The leader lock (postgres-leader-lock.ts) bumps a lease's epoch
 * when it is taken; inside a transaction, `holdEpoch` is the fence of every controller write.
 */
export function createLeaderLeasesRepository(db: Executor) {
  return {
    /**
     * True when `epoch` is still the lease's current one, and keeps it so until the transaction
     * ends (the row is held FOR SHARE: a successor's bump waits for this transaction, and once
     * the bump committed, this finds no row). Only meaningful inside a transaction.
     */
    async holdEpoch(name: string, epoch: number): Promise<boolean> {
      const row = await db
        .selectFrom("leader_leases")
        .select("epoch")
        .where("name", "=", name)
        .where("epoch", "=", epoch)
        .forShare()
        .executeTakeFirst();
      return row !== undefined;
    },

    async find(name: string) {
      return db.selectFrom("leader_leases").selectAll().where("name", "=", name).executeTakeFirst();
    },
  };
}

export type LeaderLeasesRepository = ReturnType<typeof createLeaderLeasesRepository>;
