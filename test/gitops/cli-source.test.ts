import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpGet } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { cliInProcess } from "./cli-harness.ts";
import { removeTree, tempTree } from "./temp-tree.ts";

const siteFile = [
  "apiVersion: orchestrator/v1",
  "kind: Image",
  "metadata:",
  "  name: site",
  "spec:",
  "  source: ./site",
  "  tag: v1",
  "  desired_instances: 1",
  '  cpu_limit: "0.1"',
  "  memory_limit: 16m",
  "",
].join("\n");

describe("spec.source: packed, uploaded once, built, and uploaded again only when it changes", () => {
  let server: TestServer;
  let env: Record<string, string>;
  let root: string;
  let apps: string;

  beforeAll(async () => {
    server = await startTestServer();
    env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: await server.createUser("sam") };
    root = await tempTree({
      "apps/site.yaml": siteFile,
      "apps/site/Dockerfile": `FROM ${testImages.httpd}\nCOPY index.html /www/index.html\n`,
      "apps/site/index.html": "v1\n",
      "apps/site/.dockerignore": "notes.txt\n",
      "apps/site/notes.txt": "not part of the context\n",
    });
    apps = join(root, "apps");
  });
  afterAll(async () => {
    await server?.stop();
    await removeTree(root);
  });

  const cli = (...args: string[]) => cliInProcess(args, env);
  const site = async () =>
    (
      (await server.request("GET", "/api/images", { token: env.ORCHESTRATOR_TOKEN ?? null })).body
        .items as any[]
    ).find((image) => image.name === "site");
  const served = async () => {
    const instances = (
      await server.request("GET", `/api/images/${(await site()).id}/containers`, {
        token: env.ORCHESTRATOR_TOKEN ?? null,
      })
    ).body.items as any[];
    const running = instances.filter((instance) => instance.observed_state === "running");
    if (running.length !== 1 || running[0].host_port === null) return undefined;
    return (await httpGet(running[0].host_port)).body;
  };

  it("uploads the folder with the first apply, and the container serves it", async () => {
    const first = await cli("apply", "-f", apps, "--wait", "--timeout", "3m");
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^\+ site \(create\)\n1 to create, 0 to change, 0 to delete\n↑ site \(source uploaded: .+, sha256 [0-9a-f]{12}\)\n/,
    );
    // --wait returned once the built image runs: it serves the folder's content already.
    expect(await served()).toBe("v1\n");
    expect((await site()).source_digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("sends nothing again while the folder is unchanged", async () => {
    const digest = (await site()).source_digest;
    const again = await cli("apply", "-f", apps);
    expect(again).toMatchObject({ code: 0, stdout: "No changes.\n", stderr: "" });
    // A file the .dockerignore leaves out changes nothing either.
    await writeFile(join(apps, "site", "notes.txt"), "edited\n");
    expect(await cli("diff", "-f", apps)).toMatchObject({ code: 0, stdout: "No changes.\n" });
    expect((await site()).source_digest).toBe(digest);
  });

  it("uploads and rebuilds when a file of the folder changes", async () => {
    await writeFile(join(apps, "site", "index.html"), "v2\n");
    const diff = await cli("diff", "-f", apps);
    expect(diff).toMatchObject({
      code: 1,
      stdout: "-/+ site (replace: source changed)\n0 to create, 1 to change, 0 to delete\n",
    });
    const applied = await cli("apply", "-f", apps, "--wait", "--timeout", "3m");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("↑ site (source uploaded:");
    // The upload bumped the generation: --wait waited for the rebuild and the replacement.
    expect(await served()).toBe("v2\n");
    expect(await cli("diff", "-f", apps)).toMatchObject({ code: 0, stdout: "No changes.\n" });
  });

  it("gives up after --timeout, naming what it waited for", async () => {
    const slow = await tempTree({
      "slow/slow.yaml": siteFile.replace("name: site", "name: slow"),
      "slow/site/Dockerfile": `FROM ${testImages.httpd}\nRUN sleep 8\n`,
    });
    try {
      const started = Date.now();
      const result = await cli("apply", "-f", join(slow, "slow"), "--wait", "--timeout", "2s");
      expect(result.code).toBe(1);
      expect(result.stdout).toContain("↑ slow (source uploaded:");
      expect(result.stderr).toMatch(/^orchestrator: timed out after 2s waiting for slow \(.+\)\n$/);
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      await removeTree(slow);
    }
  });

  it("refuses a source folder without a Dockerfile before sending anything", async () => {
    const bad = await tempTree({
      "apps/site.yaml": siteFile,
      "apps/site/index.html": "no Dockerfile here\n",
    });
    try {
      const result = await cli("apply", "-f", join(bad, "apps"));
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(
        `${join(bad, "apps", "site.yaml")}:6:11: spec.source: folder "./site" has no Dockerfile`,
      );
      expect(result.stdout).toBe("");
    } finally {
      await removeTree(bad);
    }
  });
});
