/**
 * Builds get memory and CPU limits: BuildKit ignores the build API's fields, so the controller
 * limits the engine's buildkit cgroup (on this host, as root). A step that needs more memory
 * than BUILD_MEMORY_LIMIT is killed, and the build fails saying so. The limits are the
 * engine's, for every build of every service on it: this suite runs alone, since another
 * suite's build server writes its own limits there before each of its builds (seen in CI: a
 * 200 MB step passed under 96m while other suites were building).
 */
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  archiveOf,
  startBuildServer,
  uploadImage,
  waitForStatus,
} from "../builds/build-support.ts";
import { testBaseImage } from "../support/base-image.ts";
import { hasDocker } from "../support/services.ts";
import type { TestServer } from "../support/test-server.ts";

const memoryLimitFile = "/sys/fs/cgroup/memory/docker/buildkit/memory.limit_in_bytes";
const cpuQuotaFile = "/sys/fs/cgroup/cpu/docker/buildkit/cpu.cfs_quota_us";

describe.skipIf(!hasDocker())("build limits", () => {
  let server: TestServer;
  let before: { memory: string | undefined; cpu: string | undefined } = {
    memory: undefined,
    cpu: undefined,
  };

  beforeAll(async () => {
    before = {
      memory: await readFile(memoryLimitFile, "utf8").catch(() => undefined),
      cpu: await readFile(cpuQuotaFile, "utf8").catch(() => undefined),
    };
    server = await startBuildServer({
      env: { BUILD_MEMORY_LIMIT: "96m", BUILD_CPU_LIMIT: "0.5" },
    });
  });

  afterAll(async () => {
    await server?.stop();
    // The engine's setting is shared: put back what was there.
    if (before.memory !== undefined) await writeFile(memoryLimitFile, before.memory.trim());
    if (before.cpu !== undefined) await writeFile(cpuQuotaFile, before.cpu.trim());
  });

  it("kills a step over BUILD_MEMORY_LIMIT and limits the steps' CPU", async () => {
    const dockerfile = `FROM ${testBaseImage}\nRUN echo ${Date.now()} && dd if=/dev/zero of=/dev/null bs=200M count=1\nCMD ["true"]\n`;
    const uploaded = await uploadImage(
      server,
      { name: "memory-hog", desired_instances: "0" },
      await archiveOf("tar.gz", [{ name: "Dockerfile", content: dockerfile }]),
    );
    expect(uploaded.status).toBe(202);
    const failed = await waitForStatus(server, uploaded.body.id, "build_failed");
    expect(failed.build_logs).toMatch(/exit code: 137/);
    expect(Number((await readFile(memoryLimitFile, "utf8")).trim())).toBe(96 * 1024 * 1024);
    expect(Number((await readFile(cpuQuotaFile, "utf8")).trim())).toBe(50_000);
  });
});
