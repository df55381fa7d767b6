/**
 * The dashboard's session (issue 19) over plain HTTP: the login cookie's attributes, which
 * requests the cookie authenticates, that a write with it needs the CSRF token, and that the
 * bearer API is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backends } from "../support/services.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const json = (response: Response): Promise<any> => response.json();

describe.each(backends())("the dashboard session on %s", (backend) => {
  let server: TestServer;
  let aliceToken: string;
  beforeAll(async () => {
    server = await startTestServer({ backend });
    aliceToken = await server.createUser("alice");
  });
  afterAll(() => server?.stop());

  const login = (token: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/ui/login`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ token }),
    });

  const cookieOf = (response: Response) => {
    const header = response.headers.get("set-cookie") ?? "";
    return { header, pair: header.split(";")[0] ?? "" };
  };

  it("serves the page at / with a strict CSP, and its modules from the package", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self' 'sha256-");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/ui/assets/main.js">');
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of [
      "/ui/assets/main.js",
      "/ui/assets/dashboard.css",
      "/ui/vendor/preact.mjs",
    ]) {
      expect((await fetch(`${server.url}${asset}`)).status, asset).toBe(200);
    }
    // Only the folder's own files, by bare name: nothing beside or above it.
    expect((await fetch(`${server.url}/ui/assets/..%2Fdashboard-routes.ts`)).status).toBe(404);
    expect((await fetch(`${server.url}/ui/assets/nothing.js`)).status).toBe(404);
  });

  it("logs in with a token into an HttpOnly, SameSite=Strict cookie; a wrong token is refused", async () => {
    const wrong = await login("not-a-real-token-at-all");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();

    const right = await login(aliceToken);
    expect(right.status).toBe(200);
    const session = await json(right);
    expect(session).toMatchObject({ user: "alice", admin: false });
    expect(session.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { header } = cookieOf(right);
    expect(header).toMatch(/^orchestrator_session=/);
    expect(header).toContain("HttpOnly");
    expect(header).toContain("SameSite=Strict");
    expect(header).toContain("Path=/");
  });

  it("refuses a login sent from another site (login CSRF)", async () => {
    const crossSite = await login(aliceToken, { "sec-fetch-site": "cross-site" });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get("set-cookie")).toBeNull();
    const foreignOrigin = await login(aliceToken, { origin: "https://evil.example" });
    expect(foreignOrigin.status).toBe(403);
    const huge = await login("x".repeat(10_000));
    expect(huge.status).toBe(413);
  });

  it("reads /api with the cookie, and writes only with the session's CSRF token", async () => {
    const right = await login(aliceToken);
    const { csrf_token: csrfToken } = await json(right);
    const cookie = cookieOf(right).pair;

    const whoami = await fetch(`${server.url}/api/whoami`, { headers: { cookie } });
    expect(whoami.status).toBe(200);
    expect((await json(whoami)).user).toBe("alice");

    const create = (headers: Record<string, string>) =>
      fetch(`${server.url}/api/images`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", ...headers },
        body: JSON.stringify({
          name: "csrf",
          image: "orchestrator-test/busybox:latest",
          desired_instances: 0,
          min_instances: 0,
        }),
      });
    const bare = await create({});
    expect(bare.status).toBe(403);
    expect((await json(bare)).detail).toMatch(/X-CSRF-Token/);
    expect((await create({ "x-csrf-token": "x".repeat(43) })).status).toBe(403);
    // Another session's CSRF token does not fit this one.
    const admin = await json(await login(server.adminToken));
    expect((await create({ "x-csrf-token": admin.csrf_token })).status).toBe(403);
    expect((await server.request("GET", "/api/images", { token: aliceToken })).body.items).toEqual(
      [],
    );

    const accepted = await create({ "x-csrf-token": csrfToken });
    expect(accepted.status, await accepted.clone().text()).toBe(201);
    const image = await json(accepted);
    const removed = await fetch(`${server.url}/api/images/${image.id}`, {
      method: "DELETE",
      headers: { cookie, "x-csrf-token": csrfToken },
    });
    expect(removed.status).toBe(202);
  });

  it("keeps the bearer API as it was: the header wins, and a bad one is not rescued by a cookie", async () => {
    const right = await login(aliceToken);
    const cookie = cookieOf(right).pair;
    const bearer = await fetch(`${server.url}/api/whoami`, {
      headers: { authorization: `Bearer ${server.adminToken}`, cookie },
    });
    expect((await json(bearer)).user).toBe("admin");
    const badBearer = await fetch(`${server.url}/api/whoami`, {
      headers: { authorization: "Bearer wrong-token-wrong", cookie },
    });
    expect(badBearer.status).toBe(401);
    const none = await fetch(`${server.url}/api/whoami`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("gives the session to its own cookie only, and logs out with the CSRF token", async () => {
    expect((await fetch(`${server.url}/ui/session`)).status).toBe(401);
    const right = await login(aliceToken);
    const { csrf_token: csrfToken } = await json(right);
    const cookie = cookieOf(right).pair;
    const session = await fetch(`${server.url}/ui/session`, { headers: { cookie } });
    expect(await json(session)).toMatchObject({ user: "alice", csrf_token: csrfToken });

    const forged = await fetch(`${server.url}/ui/logout`, { method: "POST", headers: { cookie } });
    expect(forged.status).toBe(403);
    const out = await fetch(`${server.url}/ui/logout`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/^orchestrator_session=;.*Max-Age=0/);
  });
});
