import http from "node:http";
import type { Upstream } from "./route-table.ts";

/** Hop-by-hop headers (RFC 9110 §7.6.1): one connection's business, never forwarded. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Methods a retry may repeat even after the instance may have seen the request (RFC 9110 §9.2.2). */
const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** Errors of a connection that never reached an instance: always safe to try another one. */
const connectErrors = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EAI_AGAIN",
]);

/** The request's headers for the instance: hop-by-hop ones dropped, `X-Forwarded-*` added. */
export function forwardedHeaders(
  request: http.IncomingMessage,
  options: { readonly keepUpgrade?: boolean } = {},
): Record<string, string | string[]> {
  // A client's Connection may drop its own headers, never Host (the instance would get the
  // router's idea of its address, `127.0.0.1:32768`, and a request the router routed by
  // another host); the router's forwarding headers are written after, whatever it names.
  const named = new Set(
    String(request.headers.connection ?? "")
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token.length > 0 && token !== "host"),
  );
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const upgradeHeader = name === "connection" || name === "upgrade";
    if ((hopByHop.has(name) || named.has(name)) && !(options.keepUpgrade && upgradeHeader))
      continue;
    headers[name] = value;
  }
  const client = request.socket.remoteAddress ?? "";
  const host = request.headers.host ?? "";
  const prior = request.headers["x-forwarded-for"];
  headers["x-forwarded-for"] = prior === undefined ? client : `${String(prior)}, ${client}`;
  headers["x-forwarded-host"] = host;
  headers["x-forwarded-proto"] = "http";
  // The client's own Forwarded (RFC 7239) and X-Real-IP say what it likes: the router's element
  // comes last in Forwarded, as in X-Forwarded-For, and X-Real-IP is the router's alone.
  const element = `for=${client.includes(":") ? `"[${client}]"` : client};host=${JSON.stringify(host)};proto=http`;
  const forwarded = request.headers.forwarded;
  headers.forwarded = forwarded === undefined ? element : `${forwarded}, ${element}`;
  headers["x-real-ip"] = client;
  return headers;
}

/** The instance's response headers for the client, without its hop-by-hop ones. */
function answerHeaders(response: http.IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && !hopByHop.has(name)) headers[name] = value;
  }
  return headers;
}

export type ForwardResult =
  | { readonly kind: "answered"; readonly status: number }
  /** Nothing reached the client: `retriable` says whether another instance may be tried. */
  | {
      readonly kind: "failed";
      readonly retriable: boolean;
      readonly refused: boolean;
      readonly error: Error;
    };

/**
 * Sends one buffered request to one instance. Resolves `answered` once the instance's status
 * line arrived (its body is then piped to the client), or `failed` when the connection failed
 * first: another instance may be tried when the connection never reached this one, when a
 * kept-alive socket turned out dead, or when the method is idempotent.
 */
export function forwardRequest(
  upstream: Upstream,
  request: http.IncomingMessage,
  body: Buffer,
  response: http.ServerResponse,
  agent: http.Agent,
): Promise<ForwardResult> {
  return new Promise((resolve) => {
    const outgoing = http.request({
      host: upstream.host,
      port: upstream.port ?? 0,
      method: request.method,
      path: request.url,
      headers: { ...forwardedHeaders(request), "content-length": String(body.length) },
      agent,
    });
    // The client left before the answer was complete: stop asking the instance.
    const onClientGone = () => {
      if (!response.writableFinished) outgoing.destroy();
    };
    response.once("close", onClientGone);
    // An answer no HTTP response may be, from an instance (a tenant's code): a 502, not a throw
    // out of this listener, which would end the router, and every tenant's requests with it.
    const garbled = (error: Error) => {
      response.off("close", onClientGone);
      outgoing.destroy();
      resolve({ kind: "failed", refused: false, retriable: false, error });
    };
    outgoing.once("response", (answer) => {
      const status = answer.statusCode ?? 0;
      try {
        response.writeHead(status, answerHeaders(answer));
      } catch (error) {
        answer.destroy();
        // What writeHead set before it threw is not the router's answer.
        for (const name of response.getHeaderNames()) response.removeHeader(name);
        garbled(error as Error);
        return;
      }
      answer.pipe(response);
      answer.once("error", () => response.destroy());
      resolve({ kind: "answered", status });
    });
    // `101` to a request that asked for no upgrade: nothing the client could be given.
    outgoing.once("upgrade", (_answer, socket) => {
      socket.destroy();
      garbled(new Error("the instance switched protocols unasked"));
    });
    outgoing.once("error", (error: NodeJS.ErrnoException) => {
      response.off("close", onClientGone);
      const refused = connectErrors.has(error.code ?? "");
      resolve({
        kind: "failed",
        refused,
        retriable:
          refused || outgoing.reusedSocket || idempotentMethods.has(request.method ?? "GET"),
        error,
      });
    });
    outgoing.end(body);
  });
}
