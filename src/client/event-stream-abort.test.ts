import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { Orchestrator } from "./index.ts";

/** A full garbage collection, as `node --expose-gc` offers it. */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/**
 * Aborting the event stream closes its connection also after a garbage collection. Node's fetch
 * follows a `Request`'s signal only weakly (nodejs/node#55428): when the client handed fetch a
 * `Request`, a collection in between left the stream open for good, and `apply --wait` or
 * `rollout status` idle after their answer (the process kept alive by the socket).
 */
describe("the event stream, aborted after a garbage collection", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("closes its connection", async () => {
    let opened: ((request: IncomingMessage) => void) | undefined;
    const streamOpened = new Promise<IncomingMessage>((resolve) => {
      opened = resolve;
    });
    server = createServer((request, response) => {
      // One event, then the stream stays open (no more events, never ended by the server).
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write(
        `id: 1\ndata: ${JSON.stringify({ seq: 1, type: "image.scaled", image_id: 1, data: {} })}\n\n`,
      );
      opened?.(request);
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const client = new Orchestrator({ url: `http://127.0.0.1:${port}`, token: "t".repeat(20) });
    const stop = new AbortController();
    const stream = client.events({ after: 0, signal: stop.signal });
    const first = await stream.next();
    expect(first.value).toMatchObject({ seq: 1 });
    const request = await streamOpened;
    const closed = new Promise<void>((resolve) => request.socket.once("close", () => resolve()));
    const ended = stream.next();
    for (let round = 0; round < 3; round += 1) {
      collectGarbage();
      await new Promise((resolve) => setImmediate(resolve));
    }
    stop.abort();
    // The stream ends and the server sees its connection closed (it waited for ever before).
    expect(await ended).toEqual({ done: true, value: undefined });
    await closed;
  });
});
