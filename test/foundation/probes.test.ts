import { once } from "node:events";
import { connect, createServer, type Server } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort } from "../support/spawn-server.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

/** A TCP front for the local Docker socket that can be opened after the service started. */
async function dockerProxy(port: number): Promise<Server> {
  const proxy = createServer((client) => {
    const engine = connect("/var/run/docker.sock");
    client.pipe(engine).pipe(client);
    client.on("error", () => engine.destroy());
    engine.on("error", () => client.destroy());
  });
  proxy.listen(port, "127.0.0.1");
  await once(proxy, "listening");
  return proxy;
}

describe("probes", () => {
  const servers: TestServer[] = [];
  const proxies: Server[] = [];
  afterEach(async () => {
    for (const proxy of proxies.splice(0)) proxy.close();
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
  });

  it("tells strangers only whether it is ready; details and metrics need the operator's token", async () => {
    const metricsToken = "scraper-token-0123456789";
    const server = await startTestServer({ env: { METRICS_TOKEN: metricsToken } });
    servers.push(server);
    const aliceToken = await server.createUser("alice");
    expect((await server.request("GET", "/healthz", { token: null })).status).toBe(200);
    const ready = await server.request("GET", "/readyz", { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready" });
    const asUser = await server.request("GET", "/readyz", { token: aliceToken });
    expect(asUser.body).toEqual({ status: "ready" });
    const detailed = await server.request("GET", "/readyz");
    expect(detailed.body).toMatchObject({
      status: "ready",
      down: [],
      checks: {
        database: { ok: true },
        docker: { ok: true },
        // This engine (20.10, Linux) has BuildKit: the classic builder is only a fallback.
        builds: { ok: true, builder: "buildkit" },
      },
    });
    expect(
      (await server.request("GET", "/readyz", { token: metricsToken })).body.checks,
    ).toBeDefined();
    expect((await server.request("GET", "/readyz", { token: "orc_wrongwrongwrong" })).status).toBe(
      401,
    );

    await server.request("GET", "/api/tokens", { token: null });
    const stranger = await server.request("GET", "/metrics", { token: null });
    expect(stranger.status).toBe(401);
    expect(stranger.headers.get("content-type")).toBe("application/problem+json");
    expect(String(stranger.body)).not.toContain("orchestrator_");
    expect((await server.request("GET", "/metrics", { token: "orc_wrongwrongwrong" })).status).toBe(
      401,
    );
    const user = await server.request("GET", "/metrics", { token: aliceToken });
    expect(user.status).toBe(403);
    for (const token of [server.adminToken, metricsToken]) {
      const metrics = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await metrics.text();
      expect(text).toMatch(/^process_cpu_seconds_total \S+$/m);
      expect(text).toMatch(
        /orchestrator_http_request_duration_seconds_bucket\{[^}]*route="\/api\/\*"[^}]*status="401"/,
      );
    }
    // The scraper's token opens nothing else.
    expect((await server.request("GET", "/api/images", { token: metricsToken })).status).toBe(401);
  });

  it("starts with the Docker engine down, says so in /readyz, and reconnects by itself", async () => {
    const port = await freePort();
    const server = await startTestServer({ env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } });
    servers.push(server);
    expect(await server.request("GET", "/readyz", { token: null })).toMatchObject({
      status: 503,
      body: { status: "not_ready" },
    });
    const down = await server.request("GET", "/readyz");
    expect(down.status).toBe(503);
    expect(down.body.down).toEqual(["docker"]);
    expect(down.body.checks.docker.error).toMatch(
      /Docker engine unreachable at tcp:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    expect(down.body.checks.database.ok).toBe(true);

    proxies.push(await dockerProxy(port));
    await expect
      .poll(async () => (await server.request("GET", "/readyz", { token: null })).status, {
        timeout: 10_000,
      })
      .toBe(200);
  });
});
