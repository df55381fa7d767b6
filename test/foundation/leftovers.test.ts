/**
 * The global teardown's check of what a run left behind (test/support/leftovers.ts), on the
 * real engine, for a run id of its own (so that the real run's teardown finds none of it): each
 * thing named with the suite that made it, a network a container is on reported and left, an
 * empty network removed and still reported.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connectDocker } from "../../src/docker/connection.ts";
import { findLeftovers } from "../support/leftovers.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { hasDocker, services } from "../support/services.ts";

const docker = connectDocker(process.env.DOCKER_HOST);

describe.runIf(hasDocker())("what a run left behind", () => {
  const made: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const remove of made.splice(0).reverse()) await remove().catch(() => {});
  });

  it("names the suite of each leftover, and removes an empty network it still reports", async () => {
    const runId = `t${randomBytes(3).toString("hex")}`;
    const folder = await mkdtemp(path.join(tmpdir(), "leftovers-"));
    made.push(() => rm(folder, { recursive: true, force: true }));
    const register = path.join(folder, "suites.tsv");
    const busy = `busy-r${runId}-aaa111`;
    const empty = `empty-r${runId}-bbb222`;
    await writeFile(
      register,
      `${busy}\ttest/core/busy.test.ts\n${empty}\ttest/core/empty.test.ts\n`,
    );

    await docker.createNetwork({ Name: `${empty}-u1`, Labels: { "managed-by": empty } });
    made.push(() => docker.getNetwork(`${empty}-u1`).remove());
    await docker.createNetwork({ Name: `${busy}-u1`, Labels: { "managed-by": busy } });
    made.push(() => docker.getNetwork(`${busy}-u1`).remove());
    const container = await docker.createContainer({
      name: `${busy}-c1`,
      Image: (services().docker as { baseImage: string }).baseImage,
      Cmd: ["sleep", "600"],
      Labels: { "managed-by": busy },
      HostConfig: { NetworkMode: `${busy}-u1` },
    });
    made.push(() => container.remove({ force: true }));
    await container.start();

    const { leftovers, engineDefects } = await findLeftovers(runId, "", register);

    expect(engineDefects).toEqual([]);
    expect(leftovers.sort()).toEqual(
      [
        `container /${busy}-c1 (running) [made by test/core/busy.test.ts]`,
        `network ${busy}-u1 [made by test/core/busy.test.ts]`,
        `network ${empty}-u1 [made by test/core/empty.test.ts]`,
      ].sort(),
    );
    // The empty one is gone; the one a container is on is left as it is.
    const names = (await docker.listNetworks()).map((network) => network.Name);
    expect(names).not.toContain(`${empty}-u1`);
    expect(names).toContain(`${busy}-u1`);
    // The register is the run's: read, then removed.
    await expect(readFile(register, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("registers the test file that made an orchestrator id", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "suites-"));
    made.push(() => rm(folder, { recursive: true, force: true }));
    const register = path.join(folder, "suites.tsv");
    const before = process.env.ORCH_TEST_SUITES;
    process.env.ORCH_TEST_SUITES = register;
    try {
      const id = testOrchestratorId("register");
      expect(await readFile(register, "utf8")).toBe(`${id}\ttest/foundation/leftovers.test.ts\n`);
    } finally {
      if (before === undefined) delete process.env.ORCH_TEST_SUITES;
      else process.env.ORCH_TEST_SUITES = before;
    }
  });
});
