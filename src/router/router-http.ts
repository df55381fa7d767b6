import http from "node:http";
import type { AddressInfo } from "node:net";
import { presentedToken, tokensEqual } from "../auth/tokens.ts";
import type { Logger } from "../logger.ts";
import type { Registry } from "../metrics/registry.ts";

/** The router's own HTTP answers and listeners: problem documents, health, the metrics listener. */

export function isGet(request: http.IncomingMessage, path: string): boolean {
  return request.method === "GET" && (request.url ?? "/").split("?")[0] === path;
}

export function healthy(response: http.ServerResponse): number {
  response.writeHead(200, { "content-type": "text/plain" });
  response.end("ok\n");
  return 200;
}

/** Listens on `host:port`; the server's base URL (an IPv6 host in brackets). */
export async function listen(
  server: http.Server,
  address: { readonly host: string; readonly port: number },
): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `http://${shownHost}:${port}`;
}

/** The router's own answers are RFC 9457 problem documents, like the API's. */
export function problem(
  response: http.ServerResponse,
  status: number,
  code: string,
  title: string,
  detail: string,
): number {
  if (response.headersSent) {
    response.destroy();
    return status;
  }
  const body = JSON.stringify({ type: "about:blank", title, status, detail, code });
  response.writeHead(status, {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
    ...(status === 503 ? { "retry-after": "1" } : {}),
  });
  response.end(body);
  return status;
}

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function hasBearer(request: http.IncomingMessage, token: string): boolean {
  const presented = presentedToken(request.headers.authorization);
  return presented !== undefined && tokensEqual(presented, token);
}

/**
 * The metrics listener: `/metrics` (every tenant's hostnames and traffic) and `/healthz`, apart
 * from the proxy, whose clients are anyone on the internet. With a `token`, /metrics answers
 * only to it (ROUTER_METRICS_TOKEN, which the controller sends when it scrapes).
 */
export function createMetricsServer(
  registry: Registry,
  logger: Logger,
  token: string | undefined,
): http.Server {
  return http.createServer((request, response) => {
    if (isGet(request, "/healthz")) {
      healthy(response);
      return;
    }
    if (!isGet(request, "/metrics")) {
      problem(
        response,
        404,
        "not_found",
        "Not found",
        "this listener serves /metrics and /healthz",
      );
      return;
    }
    if (token !== undefined && !hasBearer(request, token)) {
      response.setHeader("www-authenticate", 'Bearer realm="router metrics"');
      problem(
        response,
        401,
        "unauthorized",
        "Missing or invalid bearer token",
        "the router's /metrics needs its ROUTER_METRICS_TOKEN",
      );
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { "content-type": registry.contentType });
        response.end(text);
      },
      (error: unknown) => {
        logger.error({ err: error }, "router metrics failed");
        problem(response, 500, "router_error", "The router failed", "see the router's log");
      },
    );
  });
}
