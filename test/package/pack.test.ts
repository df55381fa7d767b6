/**
 * The package as people install it: `npm pack` (which builds dist/ at pack time), installed
 * from the tarball into an empty project, then a consumer file type-checked by tsc and run by
 * Node: the client against a running server, the library in-process on the real engine, and
 * the `orchestrator` command.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managedContainers } from "../support/docker-helpers.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import {
  removeManagedContainers,
  startTestServer,
  type TestServer,
} from "../support/test-server.ts";

const run = promisify(execFile);
const repository = path.resolve(import.meta.dirname, "../..");
const npm = (args: string[], cwd: string) =>
  run("npm", args, {
    cwd,
    env: { ...process.env, npm_config_update_notifier: "false" },
    maxBuffer: 64 << 20,
  });

const consumer = `import { Orchestrator, OrchestratorError, type Image, type OrchestratorEvent } from "orchestrator/client";
import { createOrchestrator } from "orchestrator";

const client = new Orchestrator({ url: process.env.SERVER_URL ?? "", token: process.env.SERVER_TOKEN ?? "" });
const image: Image = await client.images.create({ name: "packed", image: process.env.IMAGE ?? "", desired_instances: 0 });
const status: "pending" | "building" | "ready" | "build_failed" | "registered" | "deleting" = image.status;
let refused = "";
try {
  await client.images.get(987654);
} catch (error) {
  if (error instanceof OrchestratorError && error.is("IMAGE_NOT_FOUND")) refused = error.code;
}
const handler = (event: OrchestratorEvent): string => event.type;

const embedded = await createOrchestrator();
const local = await embedded.images.create({ name: "inside", image: process.env.IMAGE ?? "", desired_instances: 0 });
const listed = (await embedded.images.list()).map((item) => item.name);
await embedded.shutdown();
console.log(JSON.stringify({ status, refused, handler: typeof handler, local: local.name, listed }));
`;

describe.runIf(hasDocker())("the packed package", () => {
  let project: string;
  let server: TestServer;
  const orchestratorId = testOrchestratorId("pack");
  beforeAll(async () => {
    project = await mkdtemp(path.join(tmpdir(), "orch-consumer-"));
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
    await removeManagedContainers(orchestratorId);
    if (project !== undefined) await rm(project, { recursive: true, force: true });
  });

  // Packing builds dist/, installing resolves every dependency: minutes on a busy machine.
  it("packs, installs into an empty project, type-checks and runs a consumer", async () => {
    await npm(["pack", "--pack-destination", project, "--silent"], repository);
    const tarball = (await readdir(project)).find((name) => name.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    await writeFile(
      path.join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    await npm(
      ["install", `./${tarball}`, "--no-audit", "--no-fund", "--prefer-offline", "--silent"],
      project,
    );
    const installed = await readdir(path.join(project, "node_modules/orchestrator"));
    expect(installed.sort()).toEqual(expect.arrayContaining(["bin", "dist", "package.json"]));
    expect(installed).not.toContain("src");

    await writeFile(path.join(project, "consumer.ts"), consumer);
    await writeFile(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2024",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [path.join(repository, "node_modules/@types")],
        },
        files: ["consumer.ts"],
      }),
    );
    await run(path.join(repository, "node_modules/.bin/tsc"), ["-p", "."], { cwd: project });
    // A mistake a consumer could make is caught by the declarations.
    await writeFile(
      path.join(project, "wrong.ts"),
      `import { Orchestrator } from "orchestrator/client";\nconst status: number = (await new Orchestrator({ url: "", token: "" }).images.get(1)).status;\nexport { status };\n`,
    );
    const wrong = await run(
      path.join(repository, "node_modules/.bin/tsc"),
      [
        "--ignoreConfig",
        "--noEmit",
        "--module",
        "nodenext",
        "--target",
        "es2024",
        "--skipLibCheck",
        "--strict",
        "wrong.ts",
      ],
      { cwd: project },
    ).then(
      () => "compiled",
      (error: { stdout: string }) => error.stdout,
    );
    expect(wrong).toMatch(/not assignable to type 'number'/);

    // Node strips the consumer's own types (outside node_modules), as a user's project runs.
    const { stdout } = await run(process.execPath, ["consumer.ts"], {
      cwd: project,
      env: {
        ...process.env,
        SERVER_URL: server.url,
        SERVER_TOKEN: server.adminToken,
        IMAGE: testImages.httpd,
        ORCHESTRATOR_ID: orchestratorId,
      },
    });
    expect(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")).toEqual({
      status: expect.stringMatching(/pending|ready/),
      refused: "not_found",
      handler: "function",
      local: "inside",
      listed: ["inside"],
    });
    expect(await managedContainers(orchestratorId)).toEqual([]);

    const help = await run(path.join(project, "node_modules/.bin/orchestrator"), ["--help"], {
      cwd: project,
    });
    expect(help.stdout).toMatch(/Usage: orchestrator/);
  }, 600_000);
});
