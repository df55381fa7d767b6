import { Hono } from "hono";
import { z } from "zod";
import type { UsersService } from "../accounts/users-service.ts";
import { isoOrNull as iso } from "../domain/time.ts";
import type { UserRecord } from "../store/users-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { requireAdmin } from "./auth.ts";
import { documented } from "./openapi/route-doc.ts";
import { userSchema } from "./schemas/account-schemas.ts";
import { listOf } from "./schemas/common-schemas.ts";
import { userNameSchema } from "./tokens-routes.ts";
import { jsonBody } from "./validation.ts";

const createUserSchema = z.strictObject({ name: userNameSchema });

export function presentUser(user: UserRecord) {
  return { id: String(user.id), name: user.name, created_at: iso(user.created_at) };
}

/** `/api/users` (admin): users are created explicitly, never as a side effect of a token. */
export function usersRoutes(users: UsersService) {
  const app = new Hono<AppEnv>();
  app.use(requireAdmin());

  app.post(
    "/",
    documented({
      summary: "Create a user (admin)",
      tags: ["accounts"],
      body: createUserSchema,
      responses: { 201: { description: "The user", body: userSchema } },
    }),
    async (c) => {
      const body = await jsonBody(c, createUserSchema);
      const user = await users.create(c.get("principal"), body.name);
      c.get("log").info({ userId: user.id, name: user.name }, "user created");
      return c.json(presentUser(user), 201, { location: `/api/users/${user.name}` });
    },
  );

  app.get(
    "/",
    documented({
      summary: "List users (admin)",
      tags: ["accounts"],
      responses: { 200: { description: "The users", body: listOf(userSchema) } },
    }),
    async (c) => {
      const listed = await users.list(c.get("principal"));
      return c.json({ items: listed.map(presentUser) });
    },
  );

  return app;
}
