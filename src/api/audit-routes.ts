import { Hono } from "hono";
import { z } from "zod";
import type { UsersService } from "../accounts/users-service.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import type { AuditRecord, AuditRepository } from "../store/audit-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { requireAdmin } from "./auth.ts";
import { documented } from "./openapi/route-doc.ts";
import { auditPageSchema } from "./schemas/account-schemas.ts";
import { queryParams } from "./validation.ts";

const positiveInt = z
  .string()
  .regex(/^\d{1,15}$/, { message: "must be a whole number" })
  .transform(Number);

const auditQuery = z.strictObject({
  /** Changes of this user's resources. */
  user: z.string().optional(),
  /** Changes made by this user. */
  actor: z.string().optional(),
  image_id: positiveInt.optional(),
  action: z.string().max(64).optional(),
  after: positiveInt.optional(),
  limit: positiveInt.pipe(z.number().min(1).max(1000)).optional(),
});

export function presentAudit(record: AuditRecord) {
  return {
    id: record.id,
    time: iso(record.time),
    actor: record.actor,
    actor_user_id: record.actor_user_id === null ? null : String(record.actor_user_id),
    token_id: record.token_id,
    token_name: record.token_name,
    request_id: record.request_id,
    action: record.action,
    user_id: record.user_id === null ? null : String(record.user_id),
    image_id: record.image_id,
    target: record.target,
    old: record.old_value,
    new: record.new_value,
  };
}

/** `GET /api/audit` (admin): who changed what, when; filtered and paged by `after`. */
export function auditRoutes(options: {
  readonly audit: Pick<AuditRepository, "list">;
  readonly users: Pick<UsersService, "findUser">;
}) {
  const app = new Hono<AppEnv>();
  app.use(requireAdmin());

  app.get(
    "/",
    documented({
      summary: "The audit log (admin)",
      tags: ["accounts"],
      query: auditQuery,
      responses: { 200: { description: "A page of entries", body: auditPageSchema } },
    }),
    async (c) => {
      const query = queryParams(c, auditQuery);
      const [owner, actor] = await Promise.all([
        query.user === undefined ? undefined : options.users.findUser(query.user),
        query.actor === undefined ? undefined : options.users.findUser(query.actor),
      ]);
      const limit = query.limit ?? 100;
      const records = await options.audit.list({
        userId: owner?.id,
        actorUserId: actor?.id,
        imageId: query.image_id,
        action: query.action,
        afterId: query.after,
        limit,
      });
      const last = records.at(-1);
      return c.json({
        items: records.map(presentAudit),
        next_after: records.length === limit && last !== undefined ? last.id : null,
      });
    },
  );

  return app;
}
