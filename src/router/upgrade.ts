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
 * Whether an upgrade may become a tunnel: WebSocket only. Any other (`h2c`) is sent on as a plain
 * request, its Upgrade dropped: an h2c tunnel would carry the client's next requests to the
 * instance past the router (forged `X-Forwarded-For`, `X-Real-IP`, no count in its metrics).
 */
export function isWebSocketUpgrade(request: http.IncomingMessage): boolean {
  return (
    String(request.headers.upgrade ?? "")
      .trim()
      .toLowerCase() === "websocket"
  );
}

/** `HTTP/1.1 101 …`: the instance switched protocols (anything else refused the upgrade). */
const switching = /^HTTP\/1\.[01] 101[ \r\n]/;

/**
 * Passes an upgrade (WebSocket) through to the first instance of `order` that accepts a TCP
 * connection: the request head goes to it as is (plus `X-Forwarded-*`); once it answers `101`,
 * bytes flow both ways untouched until either side closes. Any other answer goes to the client
 * and ends the connection: nothing more of the client's reaches the instance (kept open, it
 * would be a tunnel past the router to an instance that still speaks HTTP). Resolves with the
 * instance used, or undefined when none accepted (the caller answers the client).
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
    let switched = false;
    socket.on("error", () => client.destroy());
    client.on("error", () => socket.destroy());
    socket.on("close", () => (switched ? client.destroy() : client.end()));
    client.on("close", () => socket.destroy());
    let answer = Buffer.alloc(0);
    const onAnswer = (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < 13 && !answer.includes(0x0a)) return;
      socket.off("data", onAnswer);
      switched = switching.test(answer.toString("latin1", 0, 13));
      if (switched) {
        client.write(answer);
        if (head.length > 0) socket.write(head);
        socket.pipe(client).pipe(socket);
      } else {
        socket.end();
        client.write(answer);
        socket.pipe(client);
      }
    };
    socket.on("data", onAnswer);
    socket.write(requestHead(request));
    return upstream;
  }
  return undefined;
}
