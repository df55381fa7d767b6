import { describe, expect, it } from "vitest";
import { commandTable } from "./command-table.ts";
import { handlers, runCli } from "./run-cli.ts";

async function run(args: readonly string[], environment: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    environment,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

describe("runCli", () => {
  it("has a handler for each command of the table, and no other", () => {
    expect(Object.keys(handlers).sort()).toEqual(commandTable.map((entry) => entry.name).sort());
  });

  it("lists every command in the main help", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    for (const entry of commandTable) expect(help.out.join("\n")).toContain(`  ${entry.name} `);
  });

  it("exits 2 on usage errors: unknown commands, flags and global flags without values", async () => {
    expect((await run(["frobnicate"])).code).toBe(2);
    expect((await run(["logs", "--bogus", "x"])).code).toBe(2);
    expect((await run(["logs", "--server"])).err).toEqual(["orchestrator: --server needs a value"]);
    expect((await run(["scale", "web", "--instances", "many"])).code).toBe(2);
    expect((await run(["completion", "tcsh"])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });

  it("exits 1 when the server cannot be reached", async () => {
    const result = await run(["version", "--server", "http://127.0.0.1:9", "--token", "t"], {
      XDG_CONFIG_HOME: "/nonexistent",
    });
    expect(result.code).toBe(1);
    expect(result.out).toEqual([expect.stringMatching(/^Client Version: /)]);
    expect(result.err[0]).toMatch(/^orchestrator: cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  it("prints the client version without a server", async () => {
    const result = await run(["version", "--client", "-o", "json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out[0] ?? "")).toMatchObject({
      client: { version: expect.stringMatching(/^\d+\.\d+\.\d+/) },
    });
  });
});
