import type { Context } from "hono";

/**
 * The address of the client: the socket's peer when the Node server runs the app, "local" for
 * `app.request()` in tests. Proxies' forwarding headers are not trusted.
 */
export function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)
    ?.incoming;
  return incoming?.socket?.remoteAddress ?? "local";
}
