import { Agent, request } from "node:http";

export type Answer = { readonly status: number; readonly text: string };

/**
 * The load generator's HTTP client: node:http over `sockets` kept-alive connections. Node's
 * fetch cost this process 0.4-0.5 ms of CPU a request, on the same two cores as the service
 * and Postgres; this costs less, and every target of the bench (ours, the bare route, the
 * floor) is measured through it alike.
 */
export function httpClient(base: string, sockets: number) {
  const { hostname, port } = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  return {
    send(
      method: string,
      path: string,
      headers: Readonly<Record<string, string>>,
      body?: string,
    ): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const sent = request(
          {
            hostname,
            port,
            method,
            path,
            agent,
            headers:
              body === undefined
                ? headers
                : { ...headers, "content-length": String(Buffer.byteLength(body)) },
          },
          (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              text += chunk;
            });
            response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
            response.on("error", reject);
          },
        );
        sent.on("error", reject);
        sent.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
