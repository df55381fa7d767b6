import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelKeys } from "../../src/domain/labels.ts";
import { docker, httpGet } from "../support/docker-helpers.ts";
import { backends, hasDocker } from "../support/services.ts";
import type { TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import {
  type ArchiveFormat,
  archiveOf,
  builtTag,
  eventsOf,
  getImage,
  instancesOf,
  startBuildServer,
  uploadImage,
  waitForStatus,
  webApp,
} from "./build-support.ts";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe.runIf(hasDocker()).each(backends())("uploads built and run on %s", (backend) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startBuildServer({ backend });
  });
  afterAll(() => server?.stop());

  const cases: Array<{ format: ArchiveFormat; folder?: string }> = [
    { format: "zip" },
    { format: "tar" },
    { format: "tar.gz", folder: "shop-main" },
  ];

  it.each(cases)(
    "a $format upload becomes ready and its containers answer on their host ports",
    async ({ format, folder }) => {
      const name = `web-${format.replace(".", "")}`;
      const body = `hello from the ${format} build\n`;
      const archive = await archiveOf(format, webApp(body), folder);
      const uploaded = await uploadImage(
        server,
        {
          name,
          tag: "v1",
          container_port: "8080",
          min_instances: "1",
          max_instances: "3",
          desired_instances: "2",
          cpu_limit: "0.5",
          memory_limit: "64m",
          env: '{"GREETING":"hi"}',
        },
        archive,
        { filename: `app.${format}` },
      );
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(202);
      const imageId = uploaded.body.id as number;
      expect(uploaded.headers.get("location")).toBe(`/api/images/${imageId}`);
      expect(["pending", "building"]).toContain(uploaded.body.status);
      expect(uploaded.body).toMatchObject({
        name,
        source_type: "upload",
        image: null,
        tag: "v1",
        desired_instances: 2,
        env: { GREETING: "hi" },
        source_digest: sha256(archive),
      });
      const contextDir = join(server.dataDir, "build-contexts", "1", String(imageId), "context");
      expect(uploaded.body.source_path).toBe(contextDir);
      // A single top-level folder is the context itself.
      expect((await readdir(contextDir)).sort()).toEqual(["Dockerfile", "index.html"]);
      expect(await readFile(join(contextDir, "index.html"), "utf8")).toBe(body);

      const ready = await waitForStatus(server, imageId, "ready");
      expect(ready.docker_image_id).toMatch(/^sha256:[0-9a-f]{64}$/);
      const instances = await waitFor(
        () => instancesOf(server, imageId),
        (items) =>
          items.length === 2 &&
          items.every((item) => item.observed_state === "running" && item.host_port !== null),
        { what: "2 running instances", timeoutMs: 60_000 },
      );
      for (const instance of instances) {
        expect(await httpGet(instance.host_port)).toEqual({ status: 200, body });
        const info = await docker.getContainer(instance.container_id).inspect();
        expect(info.Image).toBe(ready.docker_image_id);
        expect(info.Config.Env).toContain("GREETING=hi");
      }

      // The built image: the contract's tag and labels.
      const tag = await builtTag(server, imageId, "v1");
      const built = await docker.getImage(tag).inspect();
      expect(built.Id).toBe(ready.docker_image_id);
      expect(built.Config.Labels).toMatchObject({
        [labelKeys.managedBy]: server.orchestratorId,
        [labelKeys.imageId]: String(imageId),
      });

      const logs = await server.request("GET", `/api/images/${imageId}/build-logs`);
      expect(logs.status).toBe(200);
      expect(logs.body).toMatchObject({ image_id: imageId, status: "ready", failure_reason: null });
      expect(logs.body.logs).toContain("COPY index.html /www/index.html");
      expect(logs.body.logs).toContain("Successfully tagged");
      expect((await getImage(server, imageId)).build_logs).toContain("Successfully tagged");

      const events = await eventsOf(server, imageId);
      const buildEvents = events.filter((event) => event.type.startsWith("image."));
      expect(buildEvents.map((event) => event.type)).toEqual(["image.building", "image.ready"]);
      expect(buildEvents[0].data).toMatchObject({
        reason: "upload",
        image: tag,
        status: "building",
      });
      expect(buildEvents[1].data).toMatchObject({ reason: "built", image: tag, status: "ready" });
      // No container existed before the image was ready.
      const firstCreated = events.find((event) => event.type === "container.created");
      expect(firstCreated.seq).toBeGreaterThan(buildEvents[1].seq);
    },
  );

  it("counts builds in /metrics", async () => {
    const text = await (
      await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${server.adminToken}` },
      })
    ).text();
    expect(Number(/^orchestrator_builds_total\{result="ready"\} (\d+)$/m.exec(text)?.[1])).toBe(3);
    expect(text).toMatch(/^orchestrator_build_queue_depth 0$/m);
    expect(text).toMatch(/^orchestrator_build_duration_seconds_count\{result="ready"\} 3$/m);
  });
});
