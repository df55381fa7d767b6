import { Hono } from "hono";
import { z } from "zod";
import { registryServer } from "../domain/registry-host.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import type { RegistriesService } from "../secrets/registries-service.ts";
import type { RegistryCredentialsRecord } from "../store/registry-credentials-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { registrySchema } from "./schemas/account-schemas.ts";
import { listOf } from "./schemas/common-schemas.ts";
import { actingUserOf, type UserLookup, userQuery } from "./tenant.ts";
import { jsonBody, parseWith } from "./validation.ts";

const putRegistrySchema = z.strictObject({
  server: registryServer,
  username: z.string().min(1).max(255),
  password: z.string({ error: "must be a string" }).min(1).max(8_192),
});

/** Registry credentials as listed: never the password. */
export function presentRegistry(credentials: RegistryCredentialsRecord) {
  return {
    server: credentials.server,
    username: credentials.username,
    created_at: iso(credentials.created_at),
    updated_at: iso(credentials.updated_at),
  };
}

/**
 * `/api/registries`: a tenant's credentials for private registries, used for pulls of that
 * tenant's images whose reference names the server (the admin acts for a user with `?user=`).
 */
export function registriesRoutes(deps: {
  readonly registries: RegistriesService;
  readonly users: UserLookup;
}) {
  const app = new Hono<AppEnv>();

  app.post(
    "/",
    documented({
      summary: "Store credentials for a private registry (creates or replaces)",
      tags: ["registries"],
      query: userQuery,
      body: putRegistrySchema,
      responses: {
        200: { description: "Replaced", body: registrySchema },
        201: { description: "Created", body: registrySchema },
      },
    }),
    async (c) => {
      const userId = await actingUserOf(c, deps.users);
      const body = await jsonBody(c, putRegistrySchema);
      const { credentials, created } = await deps.registries.put(
        userId,
        c.get("principal").actor,
        body,
      );
      c.get("log").info({ userId, server: credentials.server }, "registry credentials stored");
      return c.json(presentRegistry(credentials), created ? 201 : 200);
    },
  );

  app.get(
    "/",
    documented({
      summary: "Your registry credentials (never the password)",
      tags: ["registries"],
      query: userQuery,
      responses: { 200: { description: "The credentials", body: listOf(registrySchema) } },
    }),
    async (c) => {
      const userId = await actingUserOf(c, deps.users);
      return c.json({ items: (await deps.registries.list(userId)).map(presentRegistry) });
    },
  );

  app.delete(
    "/:server",
    documented({
      summary: "Forget a registry's credentials",
      tags: ["registries"],
      params: { server: registryServer },
      query: userQuery,
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const userId = await actingUserOf(c, deps.users);
      const { server } = parseWith(z.strictObject({ server: registryServer }), {
        server: c.req.param("server"),
      });
      await deps.registries.delete(userId, c.get("principal").actor, server);
      c.get("log").info({ userId, server }, "registry credentials deleted");
      return c.body(null, 204);
    },
  );

  return app;
}
