import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testOrchestratorId } from "../support/run-id.ts";
import { freePort, runProject } from "../support/spawn-server.ts";
import { testImages } from "../support/test-images.ts";
import {
  removeManagedContainers,
  startTestServer,
  type TestServer,
} from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { cliRunning } from "./cli-harness.ts";
import { removeTree, tempTree } from "./temp-tree.ts";

function imageFile(name: string, desired: number, extra = ""): string {
  return [
    "apiVersion: orchestrator/v1",
    "kind: Image",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  image: ${testImages.httpd}`,
    `  desired_instances: ${desired}`,
    "  max_instances: 3",
    '  cpu_limit: "0.1"',
    "  memory_limit: 16m",
    extra,
  ].join("\n");
}

describe("orchestrator apply --watch", () => {
  let server: TestServer;
  let env: Record<string, string>;
  let root: string;
  beforeAll(async () => {
    server = await startTestServer();
    env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: await server.createUser("walt") };
    root = await tempTree({
      "site/web.yaml": imageFile("web", 0),
      "site/nested/api.yaml": imageFile("api", 0),
      "edited/web.yaml": imageFile("web", 0),
      "edited/api.yaml": imageFile("api", 0),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await removeTree(root);
  });

  const image = async (name: string) =>
    (
      (await server.request("GET", "/api/images", { token: env.ORCHESTRATOR_TOKEN ?? null })).body
        .items as any[]
    ).find((item) => item.name === name);

  it("applies at start and after every edit; a broken edit applies nothing, the next good one does", async () => {
    const folder = join(root, "site");
    const watching = cliRunning(["apply", "-f", folder, "--watch", "--prune"], env);
    try {
      await waitFor(
        async () => watching.stdout(),
        (out) => out.includes("2 to create"),
        {
          what: "the first apply",
        },
      );
      expect(watching.stdout()).toMatch(
        /^\[\d\d:\d\d:\d\d\] applied set site\n\+ api \(create\)\n\+ web \(create\)\n2 to create, 0 to change, 0 to delete$/,
      );

      await writeFile(join(folder, "web.yaml"), imageFile("web", 2));
      const web = await waitFor(
        () => image("web"),
        (item) => item?.desired_instances === 2,
        {
          what: "web scaled by the watch",
        },
      );
      await waitFor(
        async () => watching.stdout(),
        (out) => out.includes("~ web (desired_instances 0 → 2)"),
        {
          what: "the plan of the edit",
        },
      );

      // A broken edit in a nested folder: errors, and no change at all.
      const before = await image("api");
      await writeFile(join(folder, "nested", "api.yaml"), imageFile("api", 5, "  colour: blue"));
      await waitFor(
        async () => watching.stderr(),
        (err) => err.includes("nothing was applied"),
        {
          what: "the errors of the broken edit",
        },
      );
      const errors = watching.stderr().split("\n");
      expect(errors).toContain(
        `${join(folder, "nested", "api.yaml")}:7:22: spec.desired_instances: must be ≤ max_instances (3)`,
      );
      expect(errors).toContain(
        `${join(folder, "nested", "api.yaml")}:11:3: spec.colour: unknown field`,
      );
      expect(await image("api")).toEqual(before);
      expect((await image("web")).resource_version).toBe(web.resource_version);

      await writeFile(join(folder, "nested", "api.yaml"), imageFile("api", 1));
      await waitFor(
        () => image("api"),
        (item) => item?.desired_instances === 1,
        {
          what: "api applied after the fix",
        },
      );

      // Removing a file prunes its image (the watch was started with --prune).
      await rm(join(folder, "web.yaml"));
      await waitFor(
        () => image("web"),
        (item) => item === undefined || item.status === "deleting",
        {
          what: "web pruned",
        },
      );
      expect(watching.stdout()).toContain("- web (delete)");
    } finally {
      expect(await watching.stop()).toBe(0);
    }
  });

  it("keeps the images of a truncated file, reports it, and applies the file once it is written", async () => {
    // Another user (the same names in another set) and folder.
    const token = await server.createUser("ida");
    const images = async () =>
      (await server.request("GET", "/api/images", { token })).body.items as any[];
    const folder = join(root, "edited");
    const watching = cliRunning(["apply", "-f", folder, "--watch", "--prune"], {
      ORCHESTRATOR_URL: server.url,
      ORCHESTRATOR_TOKEN: token,
    });
    try {
      await waitFor(
        async () => watching.stdout(),
        (out) => out.includes("2 to create"),
        { what: "the first apply" },
      );
      const web = (await images()).find((item) => item.name === "web");

      // An editor saving in place: first the truncation (the watch sees an empty file) ...
      await truncate(join(folder, "web.yaml"));
      const reaction = await waitFor(
        async () => ({ out: watching.stdout(), err: watching.stderr() }),
        ({ out, err }) => out.includes("web (delete)") || err.includes("web.yaml"),
        { what: "the watch's reaction to the truncated file" },
      );
      expect(reaction.out).not.toContain("web (delete)");
      expect(reaction.err).toContain(
        `${join(folder, "web.yaml")}:1:1: no documents (is the file being written?); nothing was applied, the last applied state stays`,
      );
      // Untouched by the watch: the same image, its spec at the same generation, not deleting.
      const kept = (await images()).find((item) => item.name === "web");
      expect(kept).toMatchObject({ id: web.id, generation: web.generation });
      expect(kept.status).not.toBe("deleting");

      // ... then the write of the new content, which applies.
      await writeFile(join(folder, "web.yaml"), imageFile("web", 0, "  env: { MODE: saved }"));
      await waitFor(
        async () => (await images()).find((item) => item.name === "web"),
        (item) => item?.env?.MODE === "saved",
        { what: "web applied once written" },
      );
      expect((await images()).find((item) => item.name === "web")?.id).toBe(web.id);
      expect(watching.stdout()).not.toContain("web (delete)");
    } finally {
      expect(await watching.stop()).toBe(0);
    }
  });
});

describe("orchestrator serve --watch", () => {
  let dataDir: string;
  let root: string;
  const orchestratorId = testOrchestratorId("watch");
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "orch-serve-watch-"));
    root = await tempTree({ "desired/shop.yaml": imageFile("shop", 0) });
  });
  afterAll(async () => {
    await removeManagedContainers(orchestratorId);
    await rm(dataDir, { recursive: true, force: true });
    await removeTree(root);
  });

  it("applies the folder at start and again when a file changes, logging the plan", async () => {
    const port = await freePort();
    const running = runProject(["bin/orchestrator.js", "serve", "--watch", join(root, "desired")], {
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      ORCHESTRATOR_ID: orchestratorId,
      LOG_LEVEL: "info",
      STOP_TIMEOUT_SECONDS: "1",
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      const token = await waitFor(
        () => readFile(join(dataDir, "admin-token"), "utf8"),
        (text) => text.trim().length > 0,
        { what: "the admin token" },
      );
      const shop = async () => {
        const response = await fetch(`${url}/api/images`, {
          headers: { authorization: `Bearer ${token.trim()}` },
        });
        return ((await response.json()) as { items: any[] }).items.find(
          (item) => item.name === "shop",
        );
      };
      const created = await waitFor(shop, (item) => item !== undefined, { what: "shop created" });
      expect(created).toMatchObject({ apply_set: "desired", desired_instances: 0 });

      await writeFile(
        join(root, "desired", "shop.yaml"),
        imageFile("shop", 0, "  env: { MODE: watched }"),
      );
      await waitFor(shop, (item) => item?.env?.MODE === "watched", { what: "shop updated" });
      const appliedLogs = async () =>
        running
          .output()
          .stdout.split("\n")
          .filter((line) => line.includes("desired state applied from files"))
          .map((line) => JSON.parse(line));
      const logs = await waitFor(appliedLogs, (entries) => entries.length >= 2, {
        what: "two rounds logged",
      });
      expect(logs[0]).toMatchObject({
        set: "desired",
        plan: ["+ shop (create)", "1 to create, 0 to change, 0 to delete"],
      });
      expect(logs.at(-1)?.plan?.[0]).toBe(
        '-/+ shop (replace: env changed; env {} → {"MODE":"watched"})',
      );
    } finally {
      running.kill("SIGTERM");
      expect((await running.exited).code).toBe(0);
    }
  });
});
