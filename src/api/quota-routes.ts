import { Hono } from "hono";
import { z } from "zod";
import { presentQuota, type QuotaView, type UsersService } from "../accounts/users-service.ts";
import { parseCpu, parseMemory } from "../domain/quantity.ts";
import type { QuotaOverrides } from "../domain/quota.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { quotaSchema } from "./schemas/account-schemas.ts";
import { jsonBody, queryParams } from "./validation.ts";

const userQuery = z.strictObject({ user: z.string().optional() });

const count = z.number().int().min(0).max(10_000_000).nullable().optional();

/** A quantity field of the quota: null resets it, "0" allows none. */
function quantity(parse: (value: string | number) => ReturnType<typeof parseCpu>) {
  return z
    .union([z.string(), z.number()])
    .transform((value, context) => {
      if (/^0+(\.0+)?$/.test(String(value).trim())) return 0;
      const parsed = parse(value);
      if (parsed.ok) return parsed.value;
      context.addIssue({ code: "custom", message: parsed.message });
      return z.NEVER;
    })
    .nullable()
    .optional();
}

const overridesSchema = z.strictObject({
  images: count,
  instances: count,
  cpu: quantity((value) =>
    parseCpu(value, { minNano: 10_000_000, maxNano: 1_000_000 * 1_000_000_000 }),
  ),
  memory: quantity((value) => parseMemory(value, { minBytes: 1, maxBytes: 1024 ** 5 })),
  concurrent_builds: z.number().int().min(0).max(1024).nullable().optional(),
});

function presentView(view: QuotaView) {
  return {
    user: view.user.name,
    user_id: String(view.user.id),
    limits: presentQuota(view.limits),
    usage: presentQuota(view.usage),
    overrides: presentQuota(view.overrides),
  };
}

/**
 * `/api/quota`: a user's limits (null: none), what it uses now, and the admin's overrides; the
 * admin reads anyone's with `?user=NAME` and sets overrides with PATCH (null: the default).
 */
export function quotaRoutes(users: UsersService) {
  const app = new Hono<AppEnv>();

  app.get(
    "/",
    documented({
      summary: "A user's quota: limits, usage and overrides",
      tags: ["accounts"],
      query: userQuery,
      responses: { 200: { description: "The quota", body: quotaSchema } },
    }),
    async (c) => {
      const query = queryParams(c, userQuery);
      return c.json(presentView(await users.quota(c.get("principal"), query.user)));
    },
  );

  app.patch(
    "/",
    documented({
      summary: "Set a user's quota overrides (admin; null resets one)",
      tags: ["accounts"],
      query: userQuery,
      body: overridesSchema,
      responses: { 200: { description: "The quota", body: quotaSchema } },
    }),
    async (c) => {
      const query = queryParams(c, userQuery);
      const body = await jsonBody(c, overridesSchema);
      const overrides: QuotaOverrides = {
        images: body.images,
        instances: body.instances,
        nanoCpus: body.cpu,
        memoryBytes: body.memory,
        concurrentBuilds: body.concurrent_builds,
      };
      const principal = c.get("principal");
      const view = await users.setQuota(principal, query.user ?? principal.userName, overrides);
      c.get("log").info({ userId: view.user.id }, "quota changed");
      return c.json(presentView(view));
    },
  );

  return app;
}
