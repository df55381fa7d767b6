import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { nulMessage } from "../domain/nul.ts";
import type { AppEnv } from "./app-env.ts";
import { ProblemError, validationProblem } from "./problem.ts";
import { tooManyRequests } from "./rate-limit.ts";

/**
 * Limits on what a request may bring: the body of every route but the uploads (which stream to
 * disk under UPLOAD_MAX_BYTES), how many uploads run at once, and no NUL in the query string.
 */

/** The two upload routes: multipart `POST /api/images` and `PUT /api/images/{id}/source`. */
export function isUploadRequest(c: Context): boolean {
  const path = c.req.path.replace(/\/+$/, "");
  if (c.req.method === "PUT") return /^\/api\/images\/[^/]+\/source$/.test(path);
  return (
    c.req.method === "POST" &&
    path === "/api/images" &&
    /^multipart\/form-data/i.test(c.req.header("content-type") ?? "")
  );
}

/**
 * BODY_MAX_BYTES on every body but uploads: a declared length over it is refused (413) before a
 * byte is read; a body without one is counted as it arrives and refused once past it, so no
 * more than the limit is ever held.
 *
 * A GET or HEAD (which has no body to a fetch Request) and a declared length are decided from
 * the headers, as hono's bodyLimit decides them, but without asking for the body first: on
 * @hono/node-server that builds a whole fetch Request (undici, a web stream) for every request,
 * where a body read by itself is read straight from Node's request (`bench/api`).
 */
export function limitBodies(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () =>
    new ProblemError(
      "payload_too_large",
      `the body is larger than ${maxBytes} bytes (BODY_MAX_BYTES)`,
      { extensions: { max_bytes: maxBytes } },
    );
  const counted = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD" || isUploadRequest(c)) return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (Number.parseInt(declared, 10) > maxBytes) throw tooLarge();
      return next();
    }
    return counted(c, next);
  };
}

/** At most `max` uploads are received at once; more answer 429 with Retry-After. */
export function limitUploads(max: number): MiddlewareHandler<AppEnv> {
  let running = 0;
  return async (c, next) => {
    if (!isUploadRequest(c)) return next();
    if (running >= max) {
      throw tooManyRequests(
        c,
        5,
        "too_many_uploads",
        `${max} uploads are being received (UPLOAD_MAX_CONCURRENT); retry in a few seconds`,
      );
    }
    running += 1;
    try {
      await next();
    } finally {
      running -= 1;
    }
  };
}

/** Refuses a query string holding the NUL character, naming the parameter (422). */
export function refuseNulInQuery(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const url = c.req.url;
    const query = url.indexOf("?");
    const search = query < 0 ? "" : url.slice(query);
    if (search.includes("%00") || search.includes("\u0000")) {
      const names = new Set<string>();
      for (const [name, values] of Object.entries(c.req.queries())) {
        if (name.includes("\u0000") || values.some((value) => value.includes("\u0000"))) {
          names.add(name);
        }
      }
      if (names.size === 0) names.add("query");
      throw validationProblem([...names].map((name) => ({ path: name, message: nulMessage })));
    }
    await next();
  };
}
