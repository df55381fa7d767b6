import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { AppEnv, Principal } from "../api/app-env.ts";
import { type AuthOptions, authenticate, refuseGuesser, refuseToken } from "../api/auth.ts";
import { documented } from "../api/openapi/route-doc.ts";
import { notFound, ProblemError } from "../api/problem.ts";
import {
  type CsrfKey,
  clearSessionCookie,
  csrfHeaderName,
  csrfTokenFor,
  csrfTokenValid,
  sessionToken,
  setSessionCookie,
} from "../api/session-cookie.ts";
import { parseWith } from "../api/validation.ts";
import { type Asset, contentSecurityPolicy, dashboardAssets } from "./dashboard-assets.ts";
import { dashboardPage } from "./dashboard-page.ts";

export type DashboardOptions = Pick<
  AuthOptions,
  "adminToken" | "adminUserId" | "tokens" | "failures"
> & {
  readonly csrf: CsrfKey;
};

const sessionSchema = z.object({
  user: z.string(),
  user_id: z.string(),
  admin: z.boolean(),
  csrf_token: z.string().describe(`send it as ${csrfHeaderName} with every write`),
});

const loginBody = z.strictObject({ token: z.string().min(1).max(512) });

const pageHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/**
 * The dashboard (issue 19): the page at `/`, its files under `/ui/assets` and `/ui/vendor`, and
 * the session: `POST /ui/login` checks a token like the API does and keeps it in an HttpOnly,
 * SameSite=Strict cookie; `GET /ui/session` gives the page its CSRF token. Everything else the
 * page does goes through the ordinary `/api` routes, which accept the cookie (see auth.ts).
 */
export function dashboardRoutes(options: DashboardOptions) {
  const app = new Hono<AppEnv>();
  const assets = dashboardAssets();
  const sessionOf = (principal: Principal, token: string): z.infer<typeof sessionSchema> => ({
    user: principal.userName,
    user_id: String(principal.userId),
    admin: principal.isAdmin,
    csrf_token: csrfTokenFor(options.csrf, token),
  });

  const serve = (asset: Asset | undefined, name: string) => {
    if (asset === undefined) throw notFound(`dashboard file ${name}`);
    return new Response(asset.body, {
      headers: {
        "content-type": asset.contentType,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
      },
    });
  };

  app.get(
    "/",
    documented({
      summary: "The dashboard (a web page for people; the API stays at /api)",
      tags: ["dashboard"],
      public: true,
      responses: { 200: { description: "The page", media: "text/html" } },
    }),
    (c) => c.html(dashboardPage, 200, pageHeaders),
  );

  app.get(
    "/ui/assets/:file",
    documented({
      summary: "The dashboard's own scripts and styles",
      tags: ["dashboard"],
      public: true,
      params: { file: z.string().regex(/^[a-z0-9-]+\.(js|css|svg)$/) },
      responses: { 200: { description: "The file", media: "text/plain" } },
    }),
    async (c) => serve(await assets.own(c.req.param("file")), c.req.param("file")),
  );

  app.get(
    "/ui/vendor/:file",
    documented({
      summary: "The libraries the dashboard runs on (preact, htm), from their packages",
      tags: ["dashboard"],
      public: true,
      params: { file: z.enum(assets.vendorNames) },
      responses: { 200: { description: "The module", media: "text/plain" } },
    }),
    async (c) => serve(await assets.vendored(c.req.param("file")), c.req.param("file")),
  );

  app.post(
    "/ui/login",
    documented({
      summary: "Log the dashboard in with a token (kept in an HttpOnly, SameSite=Strict cookie)",
      tags: ["dashboard"],
      public: true,
      body: loginBody,
      responses: { 200: { description: "The session", body: sessionSchema } },
    }),
    bodyLimit({
      maxSize: 4096,
      onError: () => {
        throw new ProblemError("payload_too_large", "a login body is a token, at most 4 KiB");
      },
    }),
    async (c) => {
      refuseCrossSite(c.req.header("sec-fetch-site"), c.req.header("origin"), c.req.header("host"));
      const address = await refuseGuesser(c, options.failures);
      const { token } = parseWith(loginBody, await c.req.json().catch(() => undefined));
      const principal = await authenticate(options, token, c.get("requestId"));
      if (principal === undefined) return refuseToken(c, options.failures, address);
      setSessionCookie(c, token);
      return c.json(sessionOf(principal, token));
    },
  );

  app.get(
    "/ui/session",
    documented({
      summary: "The dashboard's session: who is logged in, and the CSRF token for writes",
      tags: ["dashboard"],
      public: true,
      responses: { 200: { description: "The session", body: sessionSchema } },
    }),
    async (c) => {
      const token = sessionToken(c);
      const principal =
        token === undefined ? undefined : await authenticate(options, token, c.get("requestId"));
      if (token === undefined || principal === undefined) {
        throw new ProblemError("unauthorized", "not logged in");
      }
      c.header("cache-control", "no-store");
      return c.json(sessionOf(principal, token));
    },
  );

  app.post(
    "/ui/logout",
    documented({
      summary: "Log the dashboard out (forgets the cookie; the token itself stays valid)",
      tags: ["dashboard"],
      public: true,
      headers: { [csrfHeaderName]: "the session's CSRF token" },
      responses: { 204: { description: "Logged out" } },
    }),
    (c) => {
      const token = sessionToken(c);
      if (
        token !== undefined &&
        !csrfTokenValid(options.csrf, token, c.req.header(csrfHeaderName))
      ) {
        throw new ProblemError("forbidden", "logging out needs the session's X-CSRF-Token header");
      }
      clearSessionCookie(c);
      return c.body(null, 204);
    },
  );

  return app;
}

/**
 * A login must come from our own page: a browser names the requesting site (Sec-Fetch-Site,
 * Origin), so another site cannot log a visitor in under its own token (login CSRF).
 */
function refuseCrossSite(
  fetchSite: string | undefined,
  origin: string | undefined,
  host: string | undefined,
) {
  if (fetchSite !== undefined && fetchSite !== "same-origin" && fetchSite !== "none") {
    throw new ProblemError("forbidden", "log in from the dashboard's own page");
  }
  if (origin !== undefined && URL.parse(origin)?.host !== host) {
    throw new ProblemError("forbidden", "log in from the dashboard's own page");
  }
}
