/**
 * `apply --wait` when the controller rolls the change back (issue 18), end to end: through the
 * real binary (its own process) against a real server on the real engine. A file applied with
 * `--wait` comes up Ready (exit 0); the same file changed to a revision whose instances start,
 * then fail their HTTP health check (the bad revision of test/rollout/auto-rollback.test.ts and
 * cli-rollout-failure.test.ts), applied with `--wait`, exits 1 naming the failure, and
 * afterwards the containers run the old spec again.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProcess } from "../gitops/cli-harness.ts";
import { removeTree, tempTree, writeTree } from "../gitops/temp-tree.ts";
import { runningModes as runningModesOf, servesThenFails } from "../rollout/rollout-observe.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";

/** The image's file: MODE, and the extra spec lines (a command) of the change. */
const canaryFile = (mode: string, extra: readonly string[] = []) =>
  [
    "apiVersion: orchestrator/v1",
    "kind: Image",
    "metadata:",
    "  name: canary",
    "spec:",
    `  image: ${testImages.httpd}`,
    "  desired_instances: 2",
    "  max_instances: 4",
    '  cpu_limit: "0.2"',
    "  memory_limit: 16m",
    "  env:",
    `    MODE: ${mode}`,
    // Checked over HTTP, tolerant of a loaded machine; counted after 20 s ready (so that the bad
    // revision below fails before it counts).
    "  health_check: {http_path: /index.html, interval: 1s, timeout: 5s, retries: 3}",
    "  rollout: {max_surge: 1, max_unavailable: 0, min_ready: 20s, progress_deadline: 5m}",
    ...extra,
    "",
  ].join("\n");

/** The spec lines of the bad revision: serves for a few seconds, then fails its check. */
const badCommand = [
  "  command:",
  ...servesThenFails.map((part) => `    - ${JSON.stringify(part)}`),
];

describe("orchestrator apply --wait when the controller rolls the change back", () => {
  let server: TestServer;
  let root: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) => cliProcess(args, env);
  const apply = () =>
    cli("apply", "-f", join(root, "site"), "--set", "site", "--wait", "--timeout", "5m");

  const runningModes = (imageId: number) => runningModesOf(server, imageId);

  beforeAll(async () => {
    server = await startTestServer({ env: { RATE_LIMIT_WRITES_PER_MINUTE: "100000" } });
    root = await tempTree({ "config/": "", "site/canary.yaml": canaryFile("one") });
    env = {
      ORCHESTRATOR_URL: server.url,
      ORCHESTRATOR_TOKEN: await server.createUser("ada"),
      XDG_CONFIG_HOME: join(root, "config"),
    };
  });
  afterAll(async () => {
    await server?.stop();
    if (root !== undefined) await removeTree(root);
  });

  it("exits 1 naming the failed revision, and the old spec runs again", async () => {
    const first = await apply();
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    expect(first.stdout).toMatch(/^1 image ready$/m);
    const imageId = (await server.request("GET", "/api/images")).body.items.find(
      (image: any) => image.name === "canary",
    ).id as number;
    expect(await runningModes(imageId)).toEqual(["one", "one"]);

    await writeTree(root, { "site/canary.yaml": canaryFile("two", badCommand) });
    const second = await apply();
    const output = `${second.stdout}\n${second.stderr}`;
    expect(second.code, output).toBe(1);
    expect(second.stdout).toMatch(/^(~|-\/\+) canary \(/m);
    expect(second.stderr).not.toMatch(/timed out/);
    // The first failure it sees, with its cause: the failed rollout 1 → 2 (its new instance
    // fails the health check), the rollback from revision 2 to revision 3, or the image's
    // Degraded condition (the new instance unhealthy, or the rollback).
    expect(second.stderr).toMatch(
      /^orchestrator: canary (\(image \d+\): (rollout from revision 1 to revision 2 failed: \d+ new instance\(s\) fail their health check \(.*404.*\)|rolled back from revision 2 to revision 3: which runs revision 1 again, as revision 2 failed: .+)|is degraded: \w+: .+)$/m,
    );

    // The controller rolls back by itself: revision 3 runs revision 1's spec again.
    const image = await waitFor(
      async () => (await server.request("GET", `/api/images/${imageId}`)).body,
      (current) =>
        current.conditions.some(
          (c: any) => c.type === "Progressing" && c.reason === "RolledBack" && c.status === "False",
        ) &&
        current.conditions.some((c: any) => c.type === "Ready" && c.status === "True") &&
        current.observed_generation === current.generation,
      { what: "rolled back and Ready", timeoutMs: 300_000 },
    );
    expect(image.command).toBeNull();
    expect(image.env).toEqual({ MODE: "one" });
    const revisions = (await server.request("GET", `/api/images/${imageId}/revisions`)).body
      .items as any[];
    expect(revisions.map((revision) => revision.revision)).toEqual([3, 2, 1]);
    expect(revisions[0].cause).toMatch(/^rollback to revision 1: the rollout of revision 2 failed/);
    const modes = await waitFor(
      () => runningModes(imageId),
      (list) => list.length === 2 && list.every((mode) => mode === "one"),
      { what: "the two instances of the rollback", timeoutMs: 120_000 },
    );
    expect(modes).toEqual(["one", "one"]);
  }, 900_000);
});
