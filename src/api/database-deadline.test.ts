import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "./app-env.ts";
import { databaseDeadline } from "./database-deadline.ts";
import { ProblemError, problemResponse } from "./problem.ts";

function appWith(reachable: boolean, handlerMs: number) {
  const app = new Hono<AppEnv>();
  let finished = false;
  app.use(databaseDeadline({ afterMs: 20, reachable: async () => reachable }));
  app.get("/slow", async (c) => {
    await new Promise((resolve) => setTimeout(resolve, handlerMs));
    finished = true;
    return c.json({ ok: true });
  });
  app.get("/fails", () => {
    throw new ProblemError("not_found", "nothing here");
  });
  app.onError((error, c) =>
    error instanceof ProblemError ? problemResponse(c, error) : c.text("bug", 500),
  );
  return { app, finished: () => finished };
}

describe("databaseDeadline", () => {
  it("answers 503 unavailable to a request stuck on a database that does not answer", async () => {
    const { app, finished } = appWith(false, 300);
    const response = await app.request("/slow");
    expect(response.status).toBe(503);
    expect(((await response.json()) as { code: string }).code).toBe("unavailable");
    expect(finished()).toBe(false);
  });

  it("lets a slow request finish when the database is there, and passes errors on", async () => {
    const { app } = appWith(true, 60);
    const response = await app.request("/slow");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect((await app.request("/fails")).status).toBe(404);
  });
});
