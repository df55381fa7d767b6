import type { Selectable } from "kysely";
import type { Actor } from "../domain/actor.ts";
import type { AuditEntry } from "../domain/audit.ts";
import type { Executor } from "./executor.ts";
import { jsonb } from "./json.ts";
import type { AuditLogTable } from "./schema.ts";

export type AuditRecord = Selectable<AuditLogTable>;

export type AuditFilter = {
  /** Changes of this user's resources. */
  readonly userId?: number | undefined;
  /** Changes made by this user. */
  readonly actorUserId?: number | undefined;
  readonly imageId?: number | undefined;
  readonly action?: string | undefined;
  /** Cursor: records after this id. */
  readonly afterId?: number | undefined;
  readonly limit: number;
};

/** Who made some changes, and what they were: appended together. */
export type AuditAppend = { readonly actor: Actor; readonly entries: readonly AuditEntry[] };

/** The audit_log columns of each entry (old and new as plain objects). */
export function auditRows({ actor, entries }: AuditAppend) {
  return entries.map((entry) => ({
    actor_user_id: actor.userId,
    actor: actor.name,
    token_id: actor.tokenId,
    token_name: actor.tokenName,
    request_id: actor.requestId ?? null,
    action: entry.action,
    user_id: entry.userId,
    image_id: entry.imageId,
    target: entry.target,
    old_value: entry.old === null ? null : { ...entry.old },
    new_value: entry.new === null ? null : { ...entry.new },
  }));
}

/** The audit log: appended in the caller's transaction, so a record exists iff its change does. */
export function createAuditRepository(db: Executor) {
  return {
    async append(actor: Actor, entries: readonly AuditEntry[]): Promise<void> {
      if (entries.length === 0) return;
      await db
        .insertInto("audit_log")
        .values(
          auditRows({ actor, entries }).map((row) => ({
            ...row,
            old_value: jsonb(row.old_value),
            new_value: jsonb(row.new_value),
          })),
        )
        .execute();
    },

    /** Oldest first, after the cursor. */
    async list(filter: AuditFilter): Promise<AuditRecord[]> {
      let query = db.selectFrom("audit_log").selectAll().orderBy("id").limit(filter.limit);
      if (filter.userId !== undefined) query = query.where("user_id", "=", filter.userId);
      if (filter.actorUserId !== undefined)
        query = query.where("actor_user_id", "=", filter.actorUserId);
      if (filter.imageId !== undefined) query = query.where("image_id", "=", filter.imageId);
      if (filter.action !== undefined) query = query.where("action", "=", filter.action);
      if (filter.afterId !== undefined) query = query.where("id", ">", filter.afterId);
      return query.execute();
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
