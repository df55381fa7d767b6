import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, runProject, spawnServer } from "../support/spawn-server.ts";
import { waitFor } from "../support/wait.ts";

describe("the service as a process", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "orch-proc-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("starts on embedded defaults, prints the admin token once, and keeps data across restarts", async () => {
    const first = await spawnServer({ DATA_DIR: dataDir });
    const token = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
    expect((await stat(path.join(dataDir, "admin-token"))).mode & 0o777).toBe(0o600);
    expect(first.output().stderr).toContain(token);
    expect(first.output().stdout).not.toContain(token);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const user = await fetch(`${first.url}/api/users`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "erin" }),
    });
    expect(user.status).toBe(201);
    const created = await fetch(`${first.url}/api/tokens`, {
      method: "POST",
      headers,
      body: JSON.stringify({ user: "erin" }),
    });
    const userToken = ((await created.json()) as { token: string }).token;
    // The token is shown in the response only, never in the log.
    expect(first.output().stdout).not.toContain(userToken);
    first.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);

    const second = await spawnServer({ DATA_DIR: dataDir });
    try {
      expect(second.output().stderr).not.toContain(token);
      const probe = await fetch(`${second.url}/api/nothing`, {
        headers: { authorization: `Bearer ${userToken}` },
      });
      expect(probe.status).toBe(404); // authenticated: the user and token survived the restart
    } finally {
      second.kill("SIGTERM");
      await second.exited;
    }
  });

  it.each(["SIGTERM", "SIGINT"] as const)(
    "exits 0 on %s, within its shutdown deadline",
    async (signal) => {
      // The service measures its own deadline (it exits 1 past it): exit code 0 says it made it.
      // The deadline is generous here, as every wait in a test is: this is not a benchmark.
      const server = await spawnServer({ DATA_DIR: dataDir, SHUTDOWN_TIMEOUT_SECONDS: "60" });
      server.kill(signal);
      const exit = await server.exited;
      expect(exit.code).toBe(0);
      expect(server.output().stdout).not.toContain("shutdown took too long");
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    },
  );

  it("finishes a request in flight and ends open event streams on SIGTERM", async () => {
    const server = await spawnServer({ DATA_DIR: dataDir });
    const token = (await readFile(path.join(dataDir, "admin-token"), "utf8")).trim();
    const headers = { authorization: `Bearer ${token}` };
    const stream = await fetch(`${server.url}/api/events?follow=1`, { headers });
    expect(stream.status).toBe(200);
    const streamEnded = stream.text().then(
      () => "ended",
      (error: Error) => `failed: ${error.message}`,
    );
    // A request whose body is still arriving when the signal comes: it must complete. Raw
    // HTTP, to know (not guess) where the server is: "100 Continue" says it has the headers and
    // waits for the body; its log says when it got the signal.
    const body = JSON.stringify({ name: "late" });
    const socket = connect({ host: "127.0.0.1", port: server.port });
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.write(
      `POST /api/users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        "Expect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    await waitFor(
      async () => answer,
      (text) => text.startsWith("HTTP/1.1 100 Continue"),
      {
        what: "the server to wait for the body",
      },
    );
    server.kill("SIGTERM");
    await waitFor(
      async () => server.output().stdout,
      (out) => out.includes("signal received"),
      {
        what: "the server to get the signal",
      },
    );
    socket.end(body);
    await closed;
    const final = answer.slice(answer.indexOf("\r\n\r\n") + 4);
    expect(final).toMatch(/^HTTP\/1\.1 201 /);
    expect(JSON.parse(final.slice(final.indexOf("\r\n\r\n") + 4)).name).toBe("late");
    expect(await streamEnded).toBe("ended");
    expect((await server.exited).code).toBe(0);
  });

  it.each([
    [{ PORT: "abc" }, /^invalid configuration: PORT="abc" must be a whole number/],
    [
      { DATABASE_URL: "nonsense" },
      /^invalid configuration: DATABASE_URL="nonsense" must be a postgres:\/\//,
    ],
  ])("fails at start with one clear line for bad configuration %o", async (env, message) => {
    const running = runProject(["src/main.ts"], { DATA_DIR: dataDir, ...env });
    const exit = await running.exited;
    expect(exit.code).toBe(2);
    const lines = running.output().stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
  });

  it("says why when the Postgres server cannot be reached", async () => {
    const port = await freePort();
    const running = runProject(["src/main.ts"], {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      DATABASE_URL: `postgres://user:secret-password@127.0.0.1:${port}/db`,
    });
    const exit = await running.exited;
    expect(exit.code).toBe(1);
    expect(running.output().stderr).toMatch(/could not start: .*ECONNREFUSED/);
    expect(running.output().stderr + running.output().stdout).not.toContain("secret-password");
  });
});

describe("the orchestrator command", () => {
  let dataDir: string;
  let server: Awaited<ReturnType<typeof spawnServer>>;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "orch-cli-"));
    server = await spawnServer({ DATA_DIR: dataDir });
  });
  afterAll(async () => {
    server?.kill("SIGTERM");
    await server?.exited;
    await rm(dataDir, { recursive: true, force: true });
  });

  async function cli(args: string[], env: Record<string, string> = {}) {
    const running = runProject(["bin/orchestrator.js", ...args], {
      DATA_DIR: dataDir,
      ORCHESTRATOR_URL: server.url,
      ...env,
    });
    const exit = await running.exited;
    return { code: exit.code, ...running.output() };
  }

  it("creates a user, then a token for it, with the admin token file of a local server", async () => {
    const unknown = await cli(["token", "create", "--user", "frank"]);
    // A refusal of the server exits 1, like kubectl (2 is for usage errors).
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/failed \(422\): no such user frank/);
    const user = await cli(["user", "create", "frank"]);
    expect(user.stderr).toBe("");
    expect(user.stdout).toMatch(/^user frank created/);
    const result = await cli(["token", "create", "--user", "frank", "--name", "laptop"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const token = result.stdout.trim();
    expect(token).toMatch(/^orc_/);
    const probe = await fetch(`${server.url}/api/nothing`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(probe.status).toBe(404);
    const users = await cli(["user", "list"]);
    expect(users.stdout).toMatch(/^ID\s+NAME\s+CREATED\n.*\badmin\b.*\n.*\bfrank\b/s);
  });

  it("lets a user list and revoke its own tokens, and refuses it other users", async () => {
    await cli(["user", "create", "gina"]);
    await cli(["user", "create", "hank"]);
    const userToken = (await cli(["token", "create", "--user", "gina"])).stdout.trim();
    const asGina = { ORCHESTRATOR_TOKEN: userToken };
    const forHank = await cli(["token", "create", "--user", "hank"], asGina);
    expect(forHank.code).toBe(1);
    expect(forHank.stderr).toMatch(
      /failed \(403\): only the admin may create tokens for another user/,
    );
    const second = (
      await cli(["token", "create", "--name", "ci", "--scope", "read"], asGina)
    ).stdout.trim();
    const listed = await cli(["token", "list"], asGina);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+USER\s+SCOPE\s+EXPIRES\s+LAST USED/);
    const ciLine = listed.stdout.split("\n").find((line) => /\bci\b/.test(line)) ?? "";
    expect(ciLine).toMatch(/\bgina\s+read\s+never/);
    const ciId = ciLine.trim().split(/\s+/)[0] ?? "";
    expect((await cli(["token", "revoke", ciId], asGina)).stdout).toBe(`token ${ciId} revoked\n`);
    const revoked = await fetch(`${server.url}/api/whoami`, {
      headers: { authorization: `Bearer ${second}` },
    });
    expect(revoked.status).toBe(401);
  });

  it.each([["--help"], ["serve", "--help"], ["token", "--help"], ["user", "--help"]])(
    "prints help for %s",
    async (...args) => {
      const result = await cli(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: orchestrator/);
    },
  );

  it("exits 2 on an unknown command or missing option", async () => {
    expect((await cli(["launch"])).code).toBe(2);
    const missing = await cli(["token", "revoke"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/token revoke ID/);
  });
});
