import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import type { AppEnv } from "./app-env.ts";

export type HttpServer = {
  readonly port: number;
  /** Stops accepting connections, lets in-flight requests finish, then closes idle sockets. */
  close(graceMs: number): Promise<void>;
};

/** A certificate and its key (PEM files) to serve HTTPS with. */
export type TlsFiles = { readonly certFile: string; readonly keyFile: string };

/**
 * Serves the app on host:port (port 0 picks a free one), over HTTPS when given TLS files; the
 * only importer of @hono/node-server.
 */
export function listen(
  app: Hono<AppEnv>,
  host: string,
  port: number,
  tls?: TlsFiles | undefined,
): Promise<HttpServer> {
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: host,
    port,
    ...(tls === undefined
      ? {}
      : {
          createServer: createHttpsServer,
          serverOptions: { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
        }),
  }) as Server;
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
