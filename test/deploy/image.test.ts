import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, execIn, httpGet } from "../support/docker-helpers.ts";
import { buildOrchestratorImage, dockerSocketGroup } from "../support/orchestrator-image.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { removeManagedContainers } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { convergeHealthCheckedApp, deployedApi } from "./health-checked-app.ts";

/**
 * The Dockerfile, for real: the image is built here (from a base made of this machine's Node),
 * run as a user would run it (socket mounted, the socket's group added, embedded database), and
 * must converge an app with an HTTP health check against the host's engine.
 */
describe("the orchestrator's own image", () => {
  const orchestratorId = testOrchestratorId("image");
  const adminToken = randomBytes(24).toString("hex");
  let tag = "";
  let containerId = "";
  let apiPort = 0;

  const api = deployedApi(
    () => apiPort,
    () => adminToken,
  );

  beforeAll(async () => {
    tag = await buildOrchestratorImage("image");
    const container = await docker.createContainer({
      name: `${orchestratorId}-server`,
      Image: tag,
      Env: [
        `ORCHESTRATOR_ID=${orchestratorId}`,
        `IMAGE_NAME_PREFIX=${orchestratorId}`,
        `ORCHESTRATOR_ADMIN_TOKEN=${adminToken}`,
        // Published ports are on the host: probes go through the host gateway.
        "PROBE_HOST=host.docker.internal",
      ],
      ExposedPorts: { "3003/tcp": {} },
      HostConfig: {
        Binds: ["/var/run/docker.sock:/var/run/docker.sock"],
        GroupAdd: [await dockerSocketGroup()],
        ExtraHosts: ["host.docker.internal:host-gateway"],
        PortBindings: { "3003/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
      },
    });
    containerId = container.id;
    await container.start();
    const inspected = await container.inspect();
    apiPort = Number(inspected.NetworkSettings.Ports["3003/tcp"]?.[0]?.HostPort);
  }, 600_000);

  afterAll(async () => {
    // The server first, so that it makes nothing more; then what it made, networks included.
    if (containerId !== "") await docker.getContainer(containerId).remove({ force: true, v: true });
    await removeManagedContainers(orchestratorId);
    if (tag !== "") await docker.getImage(tag).remove({ force: true });
  }, 120_000);

  it("runs as a non-root user and reports healthy to Docker through its HEALTHCHECK", async () => {
    const inspected = await docker.getContainer(containerId).inspect();
    expect(inspected.Config.User).toBe("node");
    expect(inspected.Config.Healthcheck?.Test?.join(" ")).toContain("/healthz");
    const health = await waitFor(
      async () => (await docker.getContainer(containerId).inspect()).State.Health?.Status,
      (status) => status === "healthy",
      { what: "Docker's HEALTHCHECK verdict: healthy", timeoutMs: 240_000, intervalMs: 1_000 },
    );
    expect(health).toBe("healthy");
    expect((await execIn(containerId, ["id", "-u"])).output.trim()).toBe("1000");
    expect((await httpGet(apiPort, "/healthz")).status).toBe(200);
  }, 300_000);

  it("converges an app on the host's engine through the mounted socket, and its HTTP probes pass", async () => {
    await convergeHealthCheckedApp(api, orchestratorId, 2);
  }, 400_000);
});
