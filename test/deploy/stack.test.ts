import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const run = promisify(execFile);
const repositoryRoot = path.resolve(import.meta.dirname, "../..");
const stackFile = path.join(repositoryRoot, "deploy/stack.yaml");
const env = { ...process.env, DOCKER_GID: "4242", ORCHESTRATOR_IMAGE: "registry.example/orch:1" };

/** `docker stack config` (Docker CLI 23+, no engine needed), or undefined when this client lacks it. */
async function stackConfig(): Promise<string | undefined> {
  const help = await run("docker", ["stack", "config", "--help"]).catch(() => undefined);
  if (help === undefined || !help.stdout.includes("--compose-file")) return undefined;
  return (await run("docker", ["stack", "config", "-c", stackFile], { env })).stdout;
}

/**
 * The stack file is checked, not deployed: by Docker's own stack loader where the CLI has one
 * (it rejects what `docker stack deploy` rejects, e.g. group_add), and by docker-compose's
 * schema for version 3.8 in any case.
 */
describe("deploy/stack.yaml", () => {
  it("is a valid stack that runs the orchestrator on a manager with the Swarm runtime", async () => {
    const printed = [(await run("docker-compose", ["-f", stackFile, "config"], { env })).stdout];
    const fromStack = await stackConfig();
    if (fromStack !== undefined) printed.push(fromStack);

    for (const text of printed) {
      const { services, networks } = parse(text);
      const orchestrator = services.orchestrator;
      expect(orchestrator.image).toBe("registry.example/orch:1");
      expect(orchestrator.environment).toMatchObject({
        RUNTIME: "swarm",
        PROBE_HOST: "host.docker.internal",
      });
      expect(orchestrator.extra_hosts).toEqual(["host.docker.internal:host-gateway"]);
      expect(orchestrator.user).toBe("node:4242");
      expect(orchestrator.deploy.placement.constraints).toEqual(["node.role == manager"]);
      expect(orchestrator.ports).toEqual([
        expect.objectContaining({ target: 3003, published: 3003, mode: "host" }),
      ]);
      expect(services.kafka.environment.KAFKA_LOG_DIRS).toBe("/var/lib/kafka/data");
      expect(networks.orchestrator.driver).toBe("overlay");
    }
  });

  it("refuses to render without the socket's group", async () => {
    const { DOCKER_GID: _, ...withoutGroup } = env;
    const failed = await run("docker-compose", ["-f", stackFile, "config"], {
      env: withoutGroup,
    }).catch((error) => error as { code: number; stderr: string });
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain("set DOCKER_GID");
  });
});
