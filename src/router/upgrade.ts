import type http from "node:http";
import net from "node:net";
import type { Duplex } from "node:stream";
import { forwardedHeaders } from "./forward.ts";
import type { Upstream } from "./route-table.ts";

/** The request head as the instance gets it: the client's own line, `X-Forwarded-*` added. */
function requestHead(request: http.IncomingMessage): string {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  for (const [name, value] of Object.entries(forwardedHeaders(request, { keepUpgrade: true }))) {
    for (const item of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${item}`);
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * Passes an upgrade (WebSocket) through to the first instance of `order` that accepts a TCP
 * connection: the request head goes to it as is (plus `X-Forwarded-*`), then bytes flow both
 * ways untouched until either side closes. Resolves with the instance used, or undefined when
 * none accepted (the caller answers the client).
 */
export async function passUpgrade(
  order: readonly Upstream[],
  request: http.IncomingMessage,
  client: Duplex,
  head: Buffer,
  onRefused: (upstream: Upstream) => void,
): Promise<Upstream | undefined> {
  for (const upstream of order) {
    const socket = await new Promise<net.Socket | undefined>((resolve) => {
      const attempt = net.connect(upstream.port ?? 0, upstream.host);
      attempt.once("connect", () => resolve(attempt));
      attempt.once("error", () => {
        onRefused(upstream);
        resolve(undefined);
      });
    });
    if (socket === undefined) continue;
    if (client.destroyed) {
      socket.destroy();
      return upstream;
    }
    socket.write(requestHead(request));
    if (head.length > 0) socket.write(head);
    socket.pipe(client).pipe(socket);
    socket.on("error", () => client.destroy());
    client.on("error", () => socket.destroy());
    socket.on("close", () => client.destroy());
    client.on("close", () => socket.destroy());
    return upstream;
  }
  return undefined;
}
