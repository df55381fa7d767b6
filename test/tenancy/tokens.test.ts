/**
 * Users and tokens: users exist only when the admin creates them, tokens carry a scope and an
 * expiry, their users list and revoke them, revoked and expired tokens stop at once, and failed
 * attempts are throttled per client address. On both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const reference = (name: string) => ({
  name,
  image: testImages.httpd,
  desired_instances: 0,
  min_instances: 0,
});

describe.each(backends())("users and tokens on %s", (backend) => {
  let server: TestServer;
  let alice: string;
  beforeAll(async () => {
    server = await startTestServer({ backend, env: { AUTH_FAILURES_PER_MINUTE: "1000" } });
    alice = await server.createUser("alice");
  });
  afterAll(() => server?.stop());

  const users = async () =>
    (
      await server.service.store.db.selectFrom("users").select("name").orderBy("name").execute()
    ).map((user) => user.name);

  it("creates users only explicitly: a token for a user that does not exist is refused", async () => {
    const before = await users();
    const typo = await server.request("POST", "/api/tokens", { body: { user: "alcie" } });
    expect(typo.status).toBe(422);
    expect(typo.body).toMatchObject({ code: "validation_failed", errors: [{ path: "user" }] });
    expect(typo.body.detail).toMatch(/no such user alcie/);
    expect(await users()).toEqual(before);

    const created = await server.request("POST", "/api/users", { body: { name: "carol" } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "carol" });
    const again = await server.request("POST", "/api/users", { body: { name: "carol" } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("name_taken");
    const listed = await server.request("GET", "/api/users");
    expect(listed.body.items.map((user: { name: string }) => user.name)).toEqual(
      expect.arrayContaining(["admin", "alice", "carol"]),
    );
    expect(
      (await server.request("POST", "/api/users", { token: alice, body: { name: "x" } })).status,
    ).toBe(403);
    expect((await server.request("GET", "/api/users", { token: alice })).status).toBe(403);
  });

  it("races of one user name answer one 201 and 409s, never a 500", async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        server.request("POST", "/api/users", { body: { name: "racer" } }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, ...Array(7).fill(409)]);
  });

  it("lets a user create, list and revoke its own tokens; revoked ones answer 401 at once", async () => {
    const created = await server.request("POST", "/api/tokens", {
      token: alice,
      body: { name: "laptop", expires_in: "30d" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "laptop", user: "alice", scope: "write" });
    const expiresIn = Date.parse(created.body.expires_at) - Date.now();
    expect(expiresIn).toBeGreaterThan(29 * 86_400_000);
    expect(expiresIn).toBeLessThanOrEqual(30 * 86_400_000);
    const laptop = created.body.token as string;
    expect((await server.request("GET", "/api/whoami", { token: laptop })).body).toMatchObject({
      user: "alice",
      scope: "write",
      token_id: created.body.id,
    });

    const mine = await server.request("GET", "/api/tokens", { token: alice });
    expect(mine.status).toBe(200);
    expect(mine.body.items.map((token: { user: string }) => token.user)).toEqual([
      "alice",
      "alice",
    ]);
    expect(JSON.stringify(mine.body)).not.toContain(laptop);
    const used = mine.body.items.find((token: { id: number }) => token.id === created.body.id);
    expect(used.last_used_at).not.toBeNull();

    const revoked = await server.request("DELETE", `/api/tokens/${created.body.id}`, {
      token: alice,
    });
    expect(revoked.status).toBe(204);
    const after = await server.request("GET", "/api/whoami", { token: laptop });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe("unauthorized");
    expect((await server.request("GET", "/api/whoami", { token: alice })).status).toBe(200);
  });

  it("hides and protects other users' tokens; the admin sees and revokes them all", async () => {
    const bob = await server.createUser("bob");
    const bobTokens = (await server.request("GET", "/api/tokens", { token: bob })).body.items;
    const bobTokenId = bobTokens[0].id as number;
    expect(
      (await server.request("DELETE", `/api/tokens/${bobTokenId}`, { token: alice })).status,
    ).toBe(404);
    expect((await server.request("GET", "/api/tokens?user=bob", { token: alice })).status).toBe(
      403,
    );
    expect(
      (await server.request("POST", "/api/tokens", { token: alice, body: { user: "bob" } })).status,
    ).toBe(403);
    const all = await server.request("GET", "/api/tokens");
    expect(all.body.items.map((token: { user: string }) => token.user)).toEqual(
      expect.arrayContaining(["alice", "bob"]),
    );
    const onlyBob = await server.request("GET", "/api/tokens?user=bob");
    expect(onlyBob.body.items.map((token: { id: number }) => token.id)).toEqual([bobTokenId]);
    expect((await server.request("DELETE", `/api/tokens/${bobTokenId}`)).status).toBe(204);
    expect((await server.request("GET", "/api/whoami", { token: bob })).status).toBe(401);
    expect((await server.request("DELETE", `/api/tokens/${bobTokenId}`)).status).toBe(404);
  });

  it("lets a read token read and nothing else, and keeps scopes from growing", async () => {
    const read = await server.request("POST", "/api/tokens", {
      token: alice,
      body: { name: "dashboard", scope: "read" },
    });
    expect(read.status).toBe(201);
    const reader = read.body.token as string;
    expect((await server.request("GET", "/api/images", { token: reader })).status).toBe(200);
    const write = await server.request("POST", "/api/images", {
      token: reader,
      body: reference("ro"),
    });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ code: "forbidden", detail: "this token is read-only" });
    expect((await server.request("POST", "/api/tokens", { token: reader, body: {} })).status).toBe(
      403,
    );
    const escalate = await server.request("POST", "/api/tokens", {
      token: alice,
      body: { scope: "admin" },
    });
    expect(escalate.status).toBe(403);
    expect(escalate.body.errors).toEqual([{ path: "scope", message: expect.any(String) }]);
    expect(
      (await server.request("GET", "/api/images", { token: alice })).body.items.map(
        (image: { name: string }) => image.name,
      ),
    ).not.toContain("ro");
  });

  it("lets only the admin hand out admin scope, which then acts as the admin", async () => {
    await server.request("POST", "/api/users", { body: { name: "ops" } });
    const granted = await server.request("POST", "/api/tokens", {
      body: { user: "ops", scope: "admin", name: "oncall" },
    });
    expect(granted.status).toBe(201);
    const ops = granted.body.token as string;
    expect((await server.request("GET", "/api/whoami", { token: ops })).body).toMatchObject({
      user: "ops",
      admin: true,
      scope: "admin",
    });
    expect((await server.request("GET", "/api/users", { token: ops })).status).toBe(200);
  });

  it("refuses an expired token at once, and an expiry in the past", async () => {
    const created = await server.request("POST", "/api/tokens", {
      token: alice,
      body: { name: "short", expires_in: "1h" },
    });
    const short = created.body.token as string;
    expect((await server.request("GET", "/api/whoami", { token: short })).status).toBe(200);
    // An hour later, as far as the database can tell.
    await server.service.store.db
      .updateTable("api_tokens")
      .set({ expires_at: new Date(Date.now() - 1_000) })
      .where("id", "=", created.body.id)
      .execute();
    expect((await server.request("GET", "/api/whoami", { token: short })).status).toBe(401);
    const past = await server.request("POST", "/api/tokens", {
      token: alice,
      body: { expires_at: "2001-01-01T00:00:00Z" },
    });
    expect(past.status).toBe(422);
    expect(past.body.errors).toEqual([{ path: "expires_at", message: "must be in the future" }]);
    const bad = await server.request("POST", "/api/tokens", {
      token: alice,
      body: { expires_in: "soon" },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe("expires_in");
  });

  it("keeps the admin token of the configuration working", async () => {
    const whoami = await server.request("GET", "/api/whoami");
    expect(whoami.body).toEqual({
      user: "admin",
      user_id: expect.any(String),
      admin: true,
      scope: "admin",
      token_id: null,
    });
  });
});

describe("failed authentications", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AUTH_FAILURES_PER_MINUTE: "5" } });
  });
  afterAll(() => server?.stop());

  it("are throttled per client address: 429 with Retry-After, even for a right token then", async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt++) {
      statuses.push(
        (await server.request("GET", "/api/images", { token: `orc_guess_${attempt}_xxxxxxxx` }))
          .status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const refused = await server.request("GET", "/api/images");
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe("rate_limited");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Requests without a token are not guesses: they answer 401 as always.
    expect((await server.request("GET", "/api/images", { token: null })).status).toBe(401);
  });
});
