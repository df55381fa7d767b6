/**
 * The failure path of `orchestrator rollout status`, end to end (issue 18):
 * through the real binary (its own process) against a real server on the real engine, a
 * revision whose instances start, then fail their HTTP health check (the bad revision of
 * test/rollout/auto-rollback.test.ts), is rolled back by the controller; `rollout status`
 * started right after the change exits 1 naming the revisions, and afterwards the containers run
 * the old spec again.
 * The decisions themselves are unit-tested in src/cli/rollout-verdict.test.ts.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProcess } from "../gitops/cli-harness.ts";
import { removeTree, tempTree } from "../gitops/temp-tree.ts";
import {
  runningModes as runningModesOf,
  servesThenFails,
  twoHttpdInstances,
} from "../rollout/rollout-observe.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

describe("orchestrator rollout status when the controller rolls back", () => {
  let server: TestServer;
  let root: string;
  let env: Record<string, string>;
  let imageId: number;
  const cli = (...args: string[]) => cliProcess(args, env);
  const imageOf = async () => (await server.request("GET", `/api/images/${imageId}`)).body;
  const revisionNumbers = async () =>
    ((await server.request("GET", `/api/images/${imageId}/revisions`)).body.items as any[]).map(
      (revision) => revision.revision as number,
    );

  /** The MODE of each running container of the image. */
  const runningModes = () => runningModesOf(server, imageId);

  /** Rolled back (Progressing RolledBack), the rollback done, Ready, for the current generation. */
  const rolledBackAndReady = (image: any) => {
    const condition = (type: string) => image.conditions.find((c: any) => c.type === type);
    return (
      condition("Progressing")?.reason === "RolledBack" &&
      condition("Progressing")?.status === "False" &&
      condition("Ready")?.status === "True" &&
      image.observed_generation === image.generation
    );
  };

  beforeAll(async () => {
    server = await startTestServer({ env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" } });
    const token = await server.createUser("rita");
    root = await tempTree({
      "config/": "",
    });
    env = {
      ORCHESTRATOR_URL: server.url,
      ORCHESTRATOR_TOKEN: token,
      XDG_CONFIG_HOME: join(root, "config"),
    };
    const created = await server.request("POST", "/api/images", {
      token,
      body: {
        name: "canary",
        ...twoHttpdInstances,
        health_check: { http_path: "/index.html", interval: "1s", timeout: "5s", retries: 3 },
        rollout: { max_surge: 1, max_unavailable: 0, min_ready: "20s", progress_deadline: "5m" },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    imageId = created.body.id;
    const ready = await cli("rollout", "status", "canary", "--timeout", "5m");
    expect(ready.code, `${ready.stdout}\n${ready.stderr}`).toBe(0);
  }, 600_000);
  afterAll(async () => {
    await server?.stop();
    if (root !== undefined) await removeTree(root);
  });

  it("rollout status, started right after a bad change, exits 1 naming the failed revision", async () => {
    expect(await runningModes()).toEqual(["one", "one"]);
    const patched = await server.request("PATCH", `/api/images/${imageId}`, {
      body: { env: { MODE: "two" }, command: servesThenFails },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const status = await cli("rollout", "status", "canary", "--timeout", "180s");
    expect(status.code, `${status.stdout}\n${status.stderr}`).toBe(1);
    expect(status.stderr).not.toMatch(/timed out/);
    // The first failure it sees: the failed rollout 1 → 2, or the rollback from revision 2.
    expect(status.stderr).toMatch(
      /^orchestrator: image\/canary: (rollout from revision 1 to revision 2 failed|rolled back from revision 2 to revision 3|RolledBack: rolled back to revision 3, which runs revision 1 again, as revision 2 failed)/m,
    );
    await waitFor(imageOf, rolledBackAndReady, {
      what: "rolled back and Ready",
      timeoutMs: 300_000,
    });
    expect(await revisionNumbers()).toEqual([3, 2, 1]);
  }, 600_000);

  it("after the rollback the containers run the old spec; rollout status still names the rollback", async () => {
    const image = await waitFor(imageOf, rolledBackAndReady, { what: "rolled back and Ready" });
    expect(image.command).toBeNull();
    expect(image.env).toEqual({ MODE: "one" });
    const modes = await waitFor(runningModes, (list) => list.length === 2, {
      what: "the two instances of the rollback",
      timeoutMs: 120_000,
    });
    expect(modes).toEqual(["one", "one"]);
    // By design (src/cli/rollout-verdict.ts, readiness.ts): the spec asked for is not what
    // runs, so status keeps saying the rollback (exit 1) until a new revision comes, and what
    // it restored.
    const status = await cli("rollout", "status", "canary", "--timeout", "180s");
    expect(status.code, `${status.stdout}\n${status.stderr}`).toBe(1);
    expect(status.stderr).toMatch(
      /^orchestrator: image\/canary: RolledBack: rolled back to revision 3, which runs revision 1 again, as revision 2 failed/m,
    );
  }, 600_000);
});
