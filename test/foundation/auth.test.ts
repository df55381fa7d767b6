import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.ts";

describe("authentication", () => {
  let server: TestServer;
  let aliceToken: string;

  beforeAll(async () => {
    server = await startTestServer();
    aliceToken = await server.createUser("alice");
  });
  afterAll(() => server?.stop());

  it("answers 401 problem+json without a token", async () => {
    const response = await server.request("POST", "/api/tokens", {
      token: null,
      body: { user: "x" },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(response.body).toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("answers 401 to a wrong token, and to unknown /api routes without revealing them", async () => {
    expect(
      (await server.request("GET", "/api/tokens", { token: "orc_wrongwrongwrong" })).status,
    ).toBe(401);
    expect((await server.request("GET", "/api/nothing-here", { token: null })).status).toBe(401);
    expect((await server.request("GET", "/api/nothing-here", { token: "Basic abc" })).status).toBe(
      401,
    );
  });

  it("answers 403 to a user token on an admin route", async () => {
    const response = await server.request("POST", "/api/tokens", {
      token: aliceToken,
      body: { user: "mallory" },
    });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe("forbidden");
  });

  it("lets the admin create a token that is shown once and then works", async () => {
    expect((await server.request("POST", "/api/users", { body: { name: "bob" } })).status).toBe(
      201,
    );
    const created = await server.request("POST", "/api/tokens", {
      body: { user: "bob", name: "ci" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ user: "bob", name: "ci" });
    expect(created.body.token).toMatch(/^orc_/);
    // A valid user token passes authentication (then 404: no such route).
    const probe = await server.request("GET", "/api/nothing-here", { token: created.body.token });
    expect(probe.status).toBe(404);
    expect(probe.body.code).toBe("not_found");
  });

  it("rejects a bad token request with the field path, and creates nothing", async () => {
    const response = await server.request("POST", "/api/tokens", {
      body: { user: "Not Valid", extra: 1 },
    });
    expect(response.status).toBe(422);
    expect(response.body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: "user" }),
        { path: "extra", message: "unknown field" },
      ]),
    );
    const users = await server.service.store.db.selectFrom("users").select("name").execute();
    expect(users.map((user) => user.name).sort()).toEqual(["admin", "alice", "bob"]);
  });

  it("answers 400 to a body that is not JSON and 415 to another media type", async () => {
    const broken = await server.request("POST", "/api/tokens", {
      headers: { "content-type": "application/json" },
      body: undefined,
    });
    expect(broken.status).toBe(400);
    const text = await fetch(`${server.url}/api/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "text/plain" },
      body: "user=x",
    });
    expect(text.status).toBe(415);
  });
});
