import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Orchestrator } from "../client/index.ts";
import { CliError } from "./cli-error.ts";
import { waitForImages } from "./wait-images.ts";

/**
 * A server that answers the event log at once and never answers anything else (an image read,
 * the event stream): `--timeout` must still end the wait, naming what it waited for.
 */
describe("waitForImages against a server that stops answering", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("gives up at its timeout even while a read is unanswered", async () => {
    server = createServer((request, response) => {
      if (request.url?.startsWith("/api/events?")) {
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ items: [], next_after: null }));
      }
      // Anything else: no answer, ever.
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const client = new Orchestrator({ url: `http://127.0.0.1:${port}`, token: "t".repeat(20) });
    const waited = waitForImages(
      client,
      [{ name: "web", imageId: 1, gone: false }],
      { timeoutMs: 300 },
      { terminal: { tty: false, color: false }, out: () => {}, write: () => {} },
    );
    const error = await waited.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/^timed out after .* waiting for web/);
  }, 10_000);
});
