/**
 * Optional TLS: with TLS_CERT_FILE and TLS_KEY_FILE the service speaks HTTPS only. The
 * certificate is made here, self-signed, with openssl.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const run = promisify(execFile);

function httpsGet(
  url: string,
  options: { ca?: Buffer; token?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      },
      (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("TLS", () => {
  let dir: string;
  let server: TestServer;
  let cert: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "orch-tls-"));
    const [certFile, keyFile] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]);
    cert = await readFile(certFile);
    server = await startTestServer({ env: { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves HTTPS with the given certificate, and nothing in plain HTTP", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await httpsGet(`${server.url}/healthz`, { ca: cert })).status).toBe(200);
    const whoami = await httpsGet(`${server.url}/api/whoami`, {
      ca: cert,
      token: server.adminToken,
    });
    expect(whoami.status).toBe(200);
    expect(JSON.parse(whoami.body)).toMatchObject({ user: "admin" });
    // A client that does not trust the certificate refuses it.
    await expect(httpsGet(`${server.url}/healthz`, {})).rejects.toThrow(/self[- ]signed/i);
    await expect(fetch(`${server.url.replace("https:", "http:")}/healthz`)).rejects.toThrow();
  });

  it("needs both files", () => {
    expect(() => loadConfig({ TLS_CERT_FILE: "/tmp/cert.pem" })).toThrow(ConfigError);
    expect(() => loadConfig({ TLS_KEY_FILE: "/tmp/key.pem" })).toThrow(/TLS_CERT_FILE/);
  });
});
