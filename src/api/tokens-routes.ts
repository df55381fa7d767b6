import { Hono } from "hono";
import { z } from "zod";
import { generateToken, hashToken } from "../auth/tokens.ts";
import type { TokensRepository } from "../store/tokens-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { requireAdmin } from "./auth.ts";
import { jsonBody } from "./validation.ts";

export const userNameSchema = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, {
  message: "must be 1-40 lowercase letters, digits or '-', not starting or ending with '-'",
});

const createTokenSchema = z.strictObject({
  user: userNameSchema,
  name: z.string().trim().min(1).max(100).optional(),
});

/** Admin only: creates a token for a user (creating the user if new). The token is shown once. */
export function tokensRoutes(tokens: TokensRepository) {
  const app = new Hono<AppEnv>();
  app.post("/", requireAdmin(), async (c) => {
    const body = await jsonBody(c, createTokenSchema);
    const token = generateToken();
    const created = await tokens.create(body.user, body.name ?? "default", hashToken(token));
    c.get("log").info({ userId: created.userId, tokenId: created.tokenId }, "token created");
    return c.json(
      {
        id: created.tokenId,
        name: created.name,
        user: created.userName,
        user_id: String(created.userId),
        token,
        note: "store this token now: it is shown only once",
      },
      201,
    );
  });
  return app;
}
