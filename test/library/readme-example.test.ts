/**
 * The library (`createOrchestrator` from "orchestrator"): the README's example is the file
 * examples/dev-environment.ts, word for word, and it runs here as a user would run it (node,
 * the package imported by its name), on the real engine: a database and an app that depends on
 * it start in that order, become healthy, events print, and everything stops.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { managedContainers } from "../support/docker-helpers.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { removeManagedContainers } from "../support/test-server.ts";

const examplePath = "examples/dev-environment.ts";
const exampleDeadlineMs = 360_000;

function run(env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      ["--conditions=orchestrator-source", "--disable-warning=ExperimentalWarning", examplePath],
      { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    // Under a loaded CI the example takes minutes (two images started, health-checked and
    // stopped with their grace periods); past this it is stopped, and what it printed shows.
    const deadline = setTimeout(() => child.kill("SIGKILL"), exampleDeadlineMs);
    child.on("close", (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.runIf(hasDocker())("the README's library example", () => {
  const orchestratorId = testOrchestratorId("readme");
  afterAll(() => removeManagedContainers(orchestratorId));

  it("is in the README as it is in examples/", async () => {
    const readme = await readFile("README.md", "utf8");
    const example = await readFile(examplePath, "utf8");
    expect(readme).toContain(`\`\`\`ts\n${example}\`\`\``);
  });

  it(
    "runs on the real engine: db then app, both healthy, events printed, all stopped",
    async () => {
      const result = await run({
        ORCHESTRATOR_ID: orchestratorId,
        DB_IMAGE: testImages.httpd,
        DB_READY: "wget -q -O /dev/null http://127.0.0.1:8080/index.html",
        APP_IMAGE: testImages.httpd,
        APP_HEALTH_PATH: "/index.html",
      });
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`${orchestratorId}-app-\\w+ healthy on port \\d+`));
      const lines = result.stdout.split("\n");
      expect(lines.some((line) => line.includes("container.started"))).toBe(true);
      expect(lines.some((line) => line.includes("container.healthy"))).toBe(true);
      expect(await managedContainers(orchestratorId)).toEqual([]);
    },
    exampleDeadlineMs + 60_000,
  );
});
