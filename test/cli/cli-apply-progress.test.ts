/**
 * `apply --wait` shows live progress on a terminal (a pseudo-terminal made by `script`) and
 * plain lines on a pipe; `build-logs` prints and follows a build. Through the real binary,
 * against a real server building on the real engine.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProcess } from "../gitops/cli-harness.ts";
import { removeTree, tempTree } from "../gitops/temp-tree.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

const siteFile = (name: string) =>
  [
    "apiVersion: orchestrator/v1",
    "kind: Image",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  source: ./${name}`,
    "  desired_instances: 1",
    '  cpu_limit: "0.1"',
    "  memory_limit: 16m",
    "",
  ].join("\n");

/** Runs the binary on a pseudo-terminal (util-linux `script`): what a person at a terminal sees. */
function cliOnTerminal(args: readonly string[], env: Readonly<Record<string, string>>) {
  const command = [
    process.execPath,
    "--liftoff-only",
    "--disable-warning=ExperimentalWarning",
    "bin/orchestrator.js",
    ...args,
  ]
    .map((word) => `'${word.replace(/'/g, "'\\''")}'`)
    .join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      TERM: "xterm-256color",
      NODE_DISABLE_COMPILE_CACHE: "1",
      ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, output })),
  );
}

describe("apply --wait progress and build-logs", () => {
  let server: TestServer;
  let env: Record<string, string>;
  let root: string;

  beforeAll(async () => {
    server = await startTestServer();
    env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: await server.createUser("pia") };
    root = await tempTree({
      "tty/tty.yaml": siteFile("tty"),
      "tty/tty/Dockerfile": `FROM ${testImages.httpd}\nCOPY index.html /www/index.html\n`,
      "tty/tty/index.html": "tty\n",
      "pipe/pipe.yaml": siteFile("pipe"),
      "pipe/pipe/Dockerfile": `FROM ${testImages.httpd}\nCOPY index.html /www/index.html\n`,
      "pipe/pipe/index.html": "pipe\n",
      "broken/broken.yaml": siteFile("broken"),
      "broken/broken/Dockerfile": `FROM ${testImages.httpd}\nRUN echo about to fail && exit 3\n`,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await removeTree(root);
  });

  it("redraws upload and per-image progress on a terminal, then a summary", async () => {
    const result = await cliOnTerminal(
      ["apply", "-f", join(root, "tty"), "--wait", "--timeout", "3m"],
      env,
    );
    // Escapes made visible, so that the expectations can name them.
    const output = result.output.replace(/\r\n/g, "\n").replaceAll("\u001b", "<ESC>");
    expect(result.code, output).toBe(0);
    expect(output).toContain("+ tty (create)");
    // The upload's progress bar, redrawn in place, then its line.
    expect(output).toMatch(/\r<ESC>\[2K↑ tty \[#{20}\] 100% {2}\d/);
    expect(output).toMatch(/↑ tty \(source uploaded: \S+ \S+ at \S+ \S+\/s, sha256 [0-9a-f]{12}\)/);
    // The live region: cleared lines, coloured markers, ending ready.
    expect(output).toContain("<ESC>[2K");
    expect(output).toMatch(/<ESC>\[32m✓<ESC>\[39m tty {2}1\/1 ready · Ready/);
    expect(output).toMatch(
      /IMAGE\s+READY\s+STATUS\ntty\s+1\/1\s+ready\n\(1 applied, 0 deleted in \S+\)\n1 image ready\n$/,
    );
  });

  it("prints plain lines on a pipe: no escapes, a line per change, the same summary", async () => {
    const result = await cliProcess(
      ["apply", "-f", join(root, "pipe"), "--wait", "--timeout", "3m"],
      env,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("\u001b");
    const lines = result.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual([
      "+ pipe (create)",
      "1 to create, 0 to change, 0 to delete",
      expect.stringMatching(/^↑ pipe \(source uploaded: .+ at .+\/s, sha256 [0-9a-f]{12}\)$/),
    ]);
    expect(lines[3]).toMatch(/^pipe: 0\/1 ready · /);
    expect(lines).toContain(lines.find((line) => /^pipe ready \(/.test(line)));
    expect(lines.slice(-4)).toEqual([
      expect.stringMatching(/^IMAGE\s+READY\s+STATUS$/),
      expect.stringMatching(/^pipe\s+1\/1\s+ready$/),
      expect.stringMatching(/^\(1 applied, 0 deleted in \d+\S*\)$/),
      "1 image ready",
    ]);
  });

  it("build-logs prints the build, and -f follows a rebuild until it ends", async () => {
    const printed = await cliProcess(["build-logs", "pipe"], env);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toContain("COPY index.html /www/index.html");

    const images = (
      await server.request("GET", "/api/images", { token: env.ORCHESTRATOR_TOKEN ?? null })
    ).body.items as any[];
    const pipe = images.find((image) => image.name === "pipe");
    const rebuild = await server.request("POST", `/api/images/${pipe.id}/rebuild`, {
      token: env.ORCHESTRATOR_TOKEN ?? null,
    });
    expect(rebuild.status).toBeLessThan(300);
    const followed = await cliProcess(["build-logs", "pipe", "-f"], env);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain("COPY index.html /www/index.html");
    expect(followed.stderr).toBe("orchestrator: build ended: ready\n");
    expect((await cliProcess(["build-logs", "nope"], env)).code).toBe(1);
  });

  it("build-logs -f exits 1 with the reason when the build fails", async () => {
    const applied = await cliProcess(["apply", "-f", join(root, "broken")], env);
    expect(applied.code).toBe(0);
    const followed = await cliProcess(["build-logs", "broken", "-f"], env);
    expect(followed.code).toBe(1);
    expect(followed.stdout).toContain("about to fail");
    expect(followed.stderr).toMatch(/^orchestrator: build failed: .*3/);
  });
});
