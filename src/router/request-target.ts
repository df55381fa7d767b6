/**
 * Which host a request is for, as the router routes it and the instance will read it (pure: the
 * request line's target and the raw header list in, a decision out).
 */

export type RequestTarget =
  /** `host`: the Host to route by and send on (undefined: the request's own); `path`: origin form. */
  | { readonly ok: true; readonly host: string | undefined; readonly path: string }
  /** The router and an instance could read the host apart: answered 400, sent nowhere. */
  | { readonly ok: false; readonly code: string; readonly detail: string };

/**
 * Origin form (`/x?y`) goes on as is. Absolute form (`GET http://shop.test/x`) is for its
 * target's authority whatever Host says (RFC 9112 §3.2.2): routed by it and sent on in origin
 * form with that Host. Refused: a second Host header (RFC 9112 §3.2: 400; Node keeps the first,
 * another server may take the last), and a target that is neither (`http://shop.test:99999/`,
 * `ftp://…`), which an instance could read as a host the router did not route by.
 */
export function requestTarget(target: string, rawHeaders: readonly string[]): RequestTarget {
  let hosts = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index]?.toLowerCase() === "host") hosts += 1;
  }
  if (hosts > 1) {
    return { ok: false, code: "bad_host", detail: "a request has one Host header" };
  }
  if (target.startsWith("/") || target === "*") return { ok: true, host: undefined, path: target };
  const refused = {
    ok: false,
    code: "bad_request_target",
    detail: "the request target is a path or an http URL",
  } as const;
  if (!/^https?:\/\//i.test(target)) return refused;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return refused;
  }
  if (url.host === "") return refused;
  return { ok: true, host: url.host, path: `${url.pathname}${url.search}` };
}
