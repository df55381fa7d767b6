import { randomBytes } from "node:crypto";
import { connect } from "node:net";

export type StreamedAnswer = {
  readonly status: number;
  readonly headers: string;
  readonly body: any;
  /** How many body bytes had been sent when the answer began to arrive. */
  readonly sentWhenAnswered: number;
};

export type StreamedRequest = {
  readonly method: string;
  /** The path and query, resolved against `baseUrl`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The body: `head`, then filler up to `totalBytes`, then `tail`. */
  readonly head?: Buffer | string;
  readonly totalBytes: number;
  readonly filler?: Buffer;
  readonly tail?: Buffer | string;
  /** Send the header `content-length: N` instead of a chunked body. */
  readonly declaredLength?: number;
  /** Told how many body bytes are sent so far, after every piece. */
  readonly onSent?: (bytes: number) => void;
};

/** Decodes an HTTP chunked body. */
function unchunk(text: string): string {
  let out = "";
  let rest = text;
  for (;;) {
    const newline = rest.indexOf("\r\n");
    if (newline < 0) return out;
    const size = Number.parseInt(rest.slice(0, newline), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(newline + 2, newline + 2 + size);
    rest = rest.slice(newline + 2 + size + 2);
  }
}

/**
 * Sends a large body slowly, chunk by chunk, the way a slow client would, over a raw socket
 * (not node:http: it shows exactly how much was sent when the answer came, and an answer that
 * arrives while a write fails is not dropped). Stops sending once the answer arrives.
 */
export function streamBody(baseUrl: string, request: StreamedRequest): Promise<StreamedAnswer> {
  const url = new URL(request.path, baseUrl);
  const head = Buffer.from(request.head ?? "");
  const tail = Buffer.from(request.tail ?? "");
  const filler = request.filler ?? randomBytes(64 * 1024);
  const chunked = request.declaredLength === undefined;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let sentWhenAnswered: number | undefined;
    let received = "";
    const socket = connect(Number(url.port), url.hostname);
    /** One piece of the body; false when the socket buffer is full (wait for drain). */
    const writePiece = (data: Buffer) => {
      sent += data.length;
      request.onSent?.(sent);
      if (!chunked) return socket.write(data);
      socket.write(`${data.length.toString(16)}\r\n`);
      socket.write(data);
      return socket.write("\r\n");
    };
    let settled = false;
    /** Resolves once a whole answer is in (or the connection ends). */
    const tryAnswer = (final: boolean) => {
      if (settled) return;
      const boundaryAt = received.indexOf("\r\n\r\n");
      if (boundaryAt < 0) {
        if (final) {
          settled = true;
          reject(new Error(`no answer (sent ${sent} bytes)`));
        }
        return;
      }
      const headers = received.slice(0, boundaryAt);
      let body = received.slice(boundaryAt + 4);
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(headers)?.[1] ?? Number.NaN);
      const chunkedAnswer = /\r\ntransfer-encoding: chunked/i.test(headers);
      const complete = Number.isFinite(length)
        ? Buffer.byteLength(body, "latin1") >= length
        : chunkedAnswer
          ? body.endsWith("0\r\n\r\n")
          : final;
      if (!complete) return;
      settled = true;
      socket.destroy();
      if (chunkedAnswer) body = unchunk(body);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0);
      let parsed: unknown = body;
      try {
        parsed = body.length > 0 ? JSON.parse(body) : undefined;
      } catch {
        // not JSON: keep the text
      }
      resolve({ status, headers, body: parsed, sentWhenAnswered: sentWhenAnswered ?? sent });
    };
    socket.on("data", (chunk: Buffer) => {
      sentWhenAnswered ??= sent;
      received += chunk.toString("latin1");
      tryAnswer(false);
    });
    socket.on("error", () => {}); // a write after the server stopped reading: expected here
    socket.on("close", () => tryAnswer(true));
    const headerLines = Object.entries(request.headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    socket.write(
      `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n${headerLines}` +
        (chunked
          ? "transfer-encoding: chunked\r\n\r\n"
          : `content-length: ${request.declaredLength}\r\n\r\n`),
    );
    if (head.length > 0) writePiece(head);
    const pump = () => {
      if (sentWhenAnswered !== undefined || socket.destroyed) return;
      if (sent + tail.length >= request.totalBytes) {
        if (tail.length > 0) writePiece(tail);
        if (chunked) socket.write("0\r\n\r\n");
        return;
      }
      // Slowly enough that the answer can overtake the rest of the body.
      if (writePiece(filler)) setTimeout(pump, 2);
      else socket.once("drain", () => setTimeout(pump, 2));
    };
    pump();
  });
}
