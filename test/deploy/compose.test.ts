import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { docker } from "../support/docker-helpers.ts";
import { buildOrchestratorImage, dockerSocketGroup } from "../support/orchestrator-image.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { removeManagedContainers } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { convergeHealthCheckedApp, deployedApi } from "./health-checked-app.ts";

const run = promisify(execFile);
const repositoryRoot = path.resolve(import.meta.dirname, "../..");
const composeFile = path.join(repositoryRoot, "deploy/compose.yaml");

/** Debian's docker-compose 1.29 (installed by .ci/run), in the repository, with `env` added. */
async function compose(args: readonly string[], env: Record<string, string> = {}) {
  return run("docker-compose", [...args], {
    cwd: repositoryRoot,
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
}

describe("deploy/compose.yaml", () => {
  it("is valid, persists Kafka's log in its volume and probes published ports through the host gateway", async () => {
    const { stdout } = await compose(["-f", composeFile, "config"], { DOCKER_GID: "4242" });
    const { services } = parse(stdout);

    const kafka = services.kafka;
    // docker-compose 1.29 prints volumes as "source:target:mode".
    const mounts = (service: any) =>
      (service.volumes as string[]).map((volume) => {
        const [source, target] = volume.split(":");
        return { source, target };
      });
    const kafkaVolume = mounts(kafka).find((volume) => volume.source === "kafka-data");
    expect(kafka.environment.KAFKA_LOG_DIRS).toBe(kafkaVolume?.target);

    const orchestrator = services.orchestrator;
    expect(orchestrator.group_add).toEqual(["4242"]);
    const [alias, gateway] = orchestrator.extra_hosts[0].split(":");
    expect(gateway).toBe("host-gateway");
    expect(orchestrator.environment.PROBE_HOST).toBe(alias);
    expect(orchestrator.environment.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(mounts(orchestrator).map((volume) => volume.target)).toEqual(
      expect.arrayContaining(["/var/run/docker.sock", "/var/lib/orchestrator"]),
    );
  });

  it("refuses to start without the socket's group, saying which variable is missing", async () => {
    const { DOCKER_GID: _, ...env } = process.env;
    const failed = await run("docker-compose", ["-f", composeFile, "config"], {
      cwd: repositoryRoot,
      env,
    }).catch((error) => error as { code: number; stderr: string });
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain("set DOCKER_GID");
  });
});

/**
 * The orchestrator service started by docker-compose from the file as shipped, with the image
 * built here. Postgres and Kafka cannot run here (their images cannot be pulled), so an
 * override empties DATABASE_URL and KAFKA_BROKERS (the embedded database; events stay in it) and
 * `--no-deps` starts the orchestrator alone, on the project's own network: its health probes must
 * still reach the app's published ports through the host gateway.
 */
describe("the orchestrator started by docker-compose", () => {
  const project = testOrchestratorId("compose");
  let workDir = "";
  let tag = "";
  let env: Record<string, string> = {};
  let files: string[] = [];
  let apiPort = 0;
  let token = "";

  beforeAll(async () => {
    tag = await buildOrchestratorImage("compose");
    workDir = await mkdtemp(path.join(tmpdir(), `${project}-`));
    const override = path.join(workDir, "override.yaml");
    await writeFile(
      override,
      [
        "services:",
        "  orchestrator:",
        "    environment:",
        '      DATABASE_URL: ""',
        '      KAFKA_BROKERS: ""',
        `      ORCHESTRATOR_ID: ${project}`,
        `      IMAGE_NAME_PREFIX: ${project}`,
        "",
      ].join("\n"),
    );
    files = ["-p", project, "-f", composeFile, "-f", override];
    env = {
      DOCKER_GID: await dockerSocketGroup(),
      ORCHESTRATOR_IMAGE: tag,
      ORCHESTRATOR_PUBLISH: "127.0.0.1:",
    };
    await compose([...files, "up", "-d", "--no-build", "--no-deps", "orchestrator"], env);
    const { stdout } = await compose([...files, "port", "orchestrator", "3003"], env);
    apiPort = Number(stdout.trim().split(":").at(-1));
  }, 600_000);

  afterAll(async () => {
    if (files.length > 0) {
      await compose([...files, "down", "-v", "--remove-orphans"], env).catch(() => undefined);
    }
    await removeManagedContainers(project);
    if (tag !== "") await docker.getImage(tag).remove({ force: true });
    if (workDir !== "") await rm(workDir, { recursive: true, force: true });
  }, 180_000);

  const api = deployedApi(
    () => apiPort,
    () => token,
  );

  it("answers /healthz, keeps its admin token where the README says, and converges a health-checked app", async () => {
    // The first start creates the embedded database: give it time on a busy machine.
    const health = await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${apiPort}/healthz`, { signal: AbortSignal.timeout(3_000) }))
          .status,
      (status) => status === 200,
      { what: "/healthz of the compose service", timeoutMs: 240_000, intervalMs: 1_000 },
    );
    expect(health).toBe(200);
    token = await waitFor(
      async () =>
        (
          await compose(
            [
              ...files,
              "exec",
              "-T",
              "orchestrator",
              "cat",
              "/var/lib/orchestrator/data/admin-token",
            ],
            env,
          )
        ).stdout.trim(),
      (value) => value.length >= 16,
      { what: "the admin token file", timeoutMs: 120_000, intervalMs: 1_000 },
    );

    await convergeHealthCheckedApp(api, project, 1);
  }, 500_000);
});
