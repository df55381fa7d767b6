/**
 * What the router suites share: a request through the router with a given `Host`, the tripwire
 * that stands where the API would be, and `orchestrator router` run in this process.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { runCli } from "../../src/cli/run-cli.ts";

export type Answer = { readonly status: number; readonly body: string };

/** One request through the router with `Host: hostname` (a fresh connection each time). */
export function through(port: number, hostname: string, path = "/index.html"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port, path, headers: { host: hostname }, agent: false },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on("error", reject);
    request.end();
  });
}

/** An HTTP server that only counts what reaches it: where the router would find the API. */
export async function startTripwire() {
  const seen: string[] = [];
  const server = http.createServer((request, response) => {
    seen.push(`${request.method} ${request.url}`);
    response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The router's /metrics text, from its own listener (the proxy does not serve it). */
export async function scrape(metricsPort: number): Promise<string> {
  return (await through(metricsPort, "127.0.0.1", "/metrics")).body;
}

/**
 * Runs `orchestrator router ARGS` in this process until `signal` aborts: resolves with its port
 * and its metrics listener's once it listens, and with its exit code at the end.
 */
export async function runRouter(
  args: readonly string[],
  environment: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<{ port: number; metricsPort: number; exit: Promise<number> }> {
  let exit: Promise<number> = Promise.resolve(0);
  const [port, metricsPort] = await new Promise<[number, number]>((resolve, reject) => {
    const listen = ["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"];
    exit = runCli(["router", ...listen, ...args], {
      environment: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent", ...environment },
      out: () => {},
      err: (line) => {
        const listening =
          /listening on http:\/\/127\.0\.0\.1:(\d+), metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(
            line,
          );
        if (listening !== null) resolve([Number(listening[1]), Number(listening[2])]);
      },
      signal,
    });
    exit.then(
      (code) => reject(new Error(`the router exited with ${code} before listening`)),
      reject,
    );
  });
  return { port, metricsPort, exit };
}
