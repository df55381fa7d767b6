/**
 * The global teardown's check of what a run left behind (test/support/leftovers.ts), on the
 * real engine, for a run id of its own (so that the real run's teardown finds none of it): each
 * thing named with the suite that made it, a network a container is on reported and left, an
 * empty network removed and still reported, and one the engine refused at its suite's cleanup
 * reported apart, as the engine's defect.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { connectDocker } from "../../src/docker/connection.ts";
import { findLeftovers } from "../support/leftovers.ts";
import {
  recordRefusedNetwork,
  refusedNetworksRegister,
  testOrchestratorId,
} from "../support/run-id.ts";
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

  it("reports, and does not fail, a network the engine refused at its suite's cleanup, removable by now", async () => {
    const runId = `t${randomBytes(3).toString("hex")}`;
    const folder = await mkdtemp(path.join(tmpdir(), "leftovers-"));
    made.push(() => rm(folder, { recursive: true, force: true }));
    const register = path.join(folder, "suites.tsv");
    const refused = `refused-r${runId}-ccc333`;
    const forgotten = `forgotten-r${runId}-ddd444`;
    await writeFile(
      register,
      `${refused}\ttest/core/refused.test.ts\n${forgotten}\ttest/core/forgotten.test.ts\n`,
    );
    // What the cleanup wrote when the engine still counted an endpoint on it (moby #42119);
    // an engine restart since then cleared the count.
    const refusals = refusedNetworksRegister(register) as string;
    await writeFile(
      refusals,
      `${refused}-u2\terror while removing network: network ${refused}-u2 id x has active endpoints\n`,
    );
    for (const name of [`${refused}-u2`, `${forgotten}-u2`]) {
      await docker.createNetwork({ Name: name, Labels: { "managed-by": name.slice(0, -3) } });
      made.push(() => docker.getNetwork(name).remove());
    }

    const { leftovers, engineDefects } = await findLeftovers(runId, "", register);

    // The one nobody tried to remove still fails the run.
    expect(leftovers).toEqual([`network ${forgotten}-u2 [made by test/core/forgotten.test.ts]`]);
    expect(engineDefects).toEqual([
      `network ${refused}-u2 [made by test/core/refused.test.ts]: refused at its suite's cleanup (error while removing network: network ${refused}-u2 id x has active endpoints)`,
    ]);
    const names = (await docker.listNetworks()).map((network) => network.Name);
    expect(names).not.toContain(`${refused}-u2`);
    expect(names).not.toContain(`${forgotten}-u2`);
    await expect(readFile(refusals, "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("notes the network a cleanup could not remove in the register of refusals", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "refusals-"));
    made.push(() => rm(folder, { recursive: true, force: true }));
    const before = process.env.ORCH_TEST_SUITES;
    process.env.ORCH_TEST_SUITES = path.join(folder, "suites.tsv");
    try {
      recordRefusedNetwork("net-r1-a-u2", "network net-r1-a-u2 has\n active endpoints");
      expect(await readFile(refusedNetworksRegister() as string, "utf8")).toBe(
        "net-r1-a-u2\tnetwork net-r1-a-u2 has active endpoints\n",
      );
    } finally {
      if (before === undefined) delete process.env.ORCH_TEST_SUITES;
      else process.env.ORCH_TEST_SUITES = before;
    }
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
