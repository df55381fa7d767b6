import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppEnv } from "./app-env.ts";

export type HttpServer = {
  readonly port: number;
  /** Stops accepting connections, lets in-flight requests finish, then closes idle sockets. */
  close(graceMs: number): Promise<void>;
};

/** Serves the app on host:port (port 0 picks a free one); the only importer of @hono/node-server. */
export function listen(app: Hono<AppEnv>, host: string, port: number): Promise<HttpServer> {
  const server = createAdaptorServer({ fetch: app.fetch, hostname: host, port }) as Server;
  // Long-lived streams (SSE) must not keep a shutdown waiting beyond its grace period.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      resolve({
        port: address.port,
        close: (graceMs) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), graceMs);
            force.unref();
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
