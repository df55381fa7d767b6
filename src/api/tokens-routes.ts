import { Hono } from "hono";
import { z } from "zod";
import type { TokensService } from "../accounts/tokens-service.ts";
import { parseDuration } from "../domain/duration.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import { tokenScopes } from "../domain/token-scope.ts";
import type { TokenRecord } from "../store/tokens-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { validationProblem } from "./problem.ts";
import { createdTokenSchema, tokenSchema } from "./schemas/account-schemas.ts";
import { idParameter, listOf } from "./schemas/common-schemas.ts";
import { idParam, jsonBody, queryParams } from "./validation.ts";

export const userNameSchema = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, {
  message: "must be 1-40 lowercase letters, digits or '-', not starting or ending with '-'",
});

const tenYearsMs = 3650 * 86_400_000;

const createTokenSchema = z.strictObject({
  user: userNameSchema.optional(),
  name: z.string().trim().min(1).max(100).optional(),
  scope: z.enum(tokenScopes).optional(),
  /** How long the token lives: "30d", "12h". */
  expires_in: z
    .string()
    .transform((value, context) => {
      const days = /^(\d{1,5})d$/.exec(value.trim())?.[1];
      const parsed =
        days === undefined
          ? parseDuration(value, { minMs: 60_000, maxMs: tenYearsMs })
          : Number(days) >= 1 && Number(days) <= 3650
            ? { ok: true as const, value: Number(days) * 86_400_000 }
            : { ok: false as const, message: "must be between 1d and 3650d" };
      if (parsed.ok) return parsed.value;
      context.addIssue({ code: "custom", message: `${parsed.message} (e.g. "30d", "12h")` });
      return z.NEVER;
    })
    .optional(),
  /** When the token stops working: an RFC 3339 time. */
  expires_at: z.iso
    .datetime({ offset: true, message: "must be an RFC 3339 time" })
    .transform((value) => new Date(value))
    .optional(),
});

const listQuery = z.strictObject({ user: z.string().optional() });

/** A token as listed: never its secret, which is shown only once, when it is created. */
export function presentToken(token: TokenRecord) {
  return {
    id: token.id,
    name: token.name,
    user: token.user_name,
    user_id: String(token.user_id),
    scope: token.scope,
    expires_at: iso(token.expires_at),
    created_at: iso(token.created_at),
    last_used_at: iso(token.last_used_at),
  };
}

/**
 * `/api/tokens`: a user creates, lists and revokes its own tokens (a read token only lists);
 * the admin does so for anyone and alone hands out `admin` scope. A token is created only for a
 * user that exists.
 */
export function tokensRoutes(tokens: TokensService) {
  const app = new Hono<AppEnv>();

  app.post(
    "/",
    documented({
      summary: "Create a token (shown once)",
      tags: ["accounts"],
      body: createTokenSchema,
      responses: { 201: { description: "The token, with its secret", body: createdTokenSchema } },
    }),
    async (c) => {
      const body = await jsonBody(c, createTokenSchema);
      if (body.expires_in !== undefined && body.expires_at !== undefined) {
        throw validationProblem([
          { path: "expires_at", message: "send expires_in or expires_at, not both" },
        ]);
      }
      const expiresAt =
        body.expires_in !== undefined ? new Date(Date.now() + body.expires_in) : body.expires_at;
      const { token, secret } = await tokens.create(c.get("principal"), {
        user: body.user,
        name: body.name ?? "default",
        scope: body.scope ?? "write",
        expiresAt: expiresAt ?? null,
      });
      c.get("log").info(
        { userId: token.user_id, tokenId: token.id, scope: token.scope },
        "token created",
      );
      return c.json(
        {
          ...presentToken(token),
          token: secret,
          note: "store this token now: it is shown only once",
        },
        201,
      );
    },
  );

  app.get(
    "/",
    documented({
      summary: "Your tokens (the admin: all, or `?user=`)",
      tags: ["accounts"],
      query: listQuery,
      responses: { 200: { description: "The tokens", body: listOf(tokenSchema) } },
    }),
    async (c) => {
      const query = queryParams(c, listQuery);
      const listed = await tokens.list(c.get("principal"), query.user);
      return c.json({ items: listed.map(presentToken) });
    },
  );

  app.delete(
    "/:id",
    documented({
      summary: "Revoke a token",
      tags: ["accounts"],
      params: { id: idParameter },
      responses: { 204: { description: "Revoked" } },
    }),
    async (c) => {
      const revoked = await tokens.revoke(c.get("principal"), idParam(c, "id"));
      c.get("log").info({ userId: revoked.user_id, tokenId: revoked.id }, "token revoked");
      return c.body(null, 204);
    },
  );

  return app;
}
