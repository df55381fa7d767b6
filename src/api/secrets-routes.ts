import { Hono } from "hono";
import { z } from "zod";
import { secretName } from "../domain/secret-references.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import type { SecretsService } from "../secrets/secrets-service.ts";
import type { SecretRecord } from "../store/secrets-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { secretSchema } from "./schemas/account-schemas.ts";
import { listOf } from "./schemas/common-schemas.ts";
import { actingUserOf, type UserLookup, userQuery } from "./tenant.ts";
import { jsonBody, parseWith } from "./validation.ts";

const putSecretSchema = z.strictObject({
  name: secretName,
  value: z.string({ error: "must be a string" }).max(65_536, { message: "must be at most 64 KiB" }),
});

/** A secret as listed: never its value. */
export function presentSecret(secret: SecretRecord) {
  return {
    name: secret.name,
    version: secret.version,
    created_at: iso(secret.created_at),
    updated_at: iso(secret.updated_at),
  };
}

/**
 * `/api/secrets`: a tenant's secrets (the admin acts for a user with `?user=`). Values go in and
 * never come out: not in answers, logs, events, the audit log or exports.
 */
export function secretsRoutes(deps: {
  readonly secrets: SecretsService;
  readonly users: UserLookup;
}) {
  const app = new Hono<AppEnv>();

  app.post(
    "/",
    documented({
      summary: "Create or replace a secret (its value never comes out)",
      tags: ["secrets"],
      query: userQuery,
      body: putSecretSchema,
      responses: {
        200: { description: "Replaced (version + 1)", body: secretSchema },
        201: { description: "Created", body: secretSchema },
      },
    }),
    async (c) => {
      const userId = await actingUserOf(c, deps.users);
      const body = await jsonBody(c, putSecretSchema);
      const { secret, created, usedBy } = await deps.secrets.put(
        userId,
        c.get("principal").actor,
        body.name,
        body.value,
      );
      c.get("log").info(
        { userId, secret: secret.name, version: secret.version, imagesRolled: usedBy },
        created ? "secret created" : "secret replaced",
      );
      return c.json(presentSecret(secret), created ? 201 : 200);
    },
  );

  app.get(
    "/",
    documented({
      summary: "Your secrets (names and versions)",
      tags: ["secrets"],
      query: userQuery,
      responses: { 200: { description: "The secrets", body: listOf(secretSchema) } },
    }),
    async (c) => {
      const userId = await actingUserOf(c, deps.users);
      return c.json({ items: (await deps.secrets.list(userId)).map(presentSecret) });
    },
  );

  app.delete(
    "/:name",
    documented({
      summary: "Delete a secret (409 while an image names it)",
      tags: ["secrets"],
      params: { name: secretName },
      query: userQuery,
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const userId = await actingUserOf(c, deps.users);
      const name = parseWith(z.strictObject({ name: secretName }), {
        name: c.req.param("name"),
      }).name;
      await deps.secrets.delete(userId, c.get("principal").actor, name);
      c.get("log").info({ userId, secret: name }, "secret deleted");
      return c.body(null, 204);
    },
  );

  return app;
}
