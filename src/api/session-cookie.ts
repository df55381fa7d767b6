import { createHmac, randomBytes } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { tokensEqual } from "../auth/tokens.ts";

/** The dashboard's session cookie: the token the user logged in with, never readable by scripts. */
export const sessionCookieName = "orchestrator_session";

/** The header a cookie-authenticated write must carry (the page reads it from `/ui/session`). */
export const csrfHeaderName = "x-csrf-token";

/**
 * Binds CSRF tokens to session tokens: the CSRF token of a session is HMAC(key, token), so the
 * server keeps no state, and a page of another site, which can neither read the HttpOnly cookie
 * nor our answers, cannot compute it. The key lives as long as the process (after a restart the
 * page fetches a new CSRF token from `/ui/session`).
 */
export type CsrfKey = { readonly secret: Buffer };

export function newCsrfKey(): CsrfKey {
  return { secret: randomBytes(32) };
}

export function csrfTokenFor(key: CsrfKey, sessionToken: string): string {
  return createHmac("sha256", key.secret).update(sessionToken).digest("base64url");
}

export function csrfTokenValid(key: CsrfKey, sessionToken: string, presented: string | undefined) {
  return presented !== undefined && tokensEqual(presented, csrfTokenFor(key, sessionToken));
}

const tokenShape = /^[A-Za-z0-9._~+/=-]{8,512}$/;

/** The token kept in the session cookie, or undefined (none, or not shaped like a token). */
export function sessionToken(c: Context): string | undefined {
  const value = getCookie(c, sessionCookieName);
  return value !== undefined && tokenShape.test(value) ? value : undefined;
}

/** Whether the request came over TLS (directly or, per the scheme of its URL, behind a proxy). */
const overTls = (c: Context) => new URL(c.req.url).protocol === "https:";

export function setSessionCookie(c: Context, token: string): void {
  setCookie(c, sessionCookieName, token, {
    httpOnly: true,
    sameSite: "Strict",
    secure: overTls(c),
    path: "/",
    // A browser session: closing the browser logs out; the token's own expiry still applies.
  });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, sessionCookieName, {
    path: "/",
    httpOnly: true,
    sameSite: "Strict",
    secure: overTls(c),
  });
}
