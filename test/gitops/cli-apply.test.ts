import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runningContainers } from "../support/docker-helpers.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";
import { waitFor } from "../support/wait.ts";
import { cliInProcess, cliProcess } from "./cli-harness.ts";
import { removeTree, tempTree } from "./temp-tree.ts";

/** A desired-state document of the test httpd image, small limits. */
function imageFile(name: string, spec: Record<string, string | number> = {}): string {
  const fields = { image: testImages.httpd, cpu_limit: '"0.1"', memory_limit: "16m", ...spec };
  const lines = Object.entries(fields).map(([field, value]) => `  ${field}: ${value}`);
  return `apiVersion: orchestrator/v1\nkind: Image\nmetadata:\n  name: ${name}\nspec:\n${lines.join("\n")}\n`;
}

describe("orchestrator apply, diff, get, delete and export against a running server", () => {
  let server: TestServer;
  let env: Record<string, string>;
  let root: string;
  let apps: string;
  const imagesOf = async () =>
    (await server.request("GET", "/api/images", { token: env.ORCHESTRATOR_TOKEN ?? null })).body
      .items as any[];
  const byName = async (): Promise<Record<string, any>> =>
    Object.fromEntries((await imagesOf()).map((image) => [image.name, image]));
  const cli = (...args: string[]) => cliInProcess(args, env);

  beforeAll(async () => {
    server = await startTestServer();
    env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: await server.createUser("alice") };
    root = await tempTree({
      "apps/web.yaml": imageFile("web", { desired_instances: 2, max_instances: 3 }),
      "apps/api.yaml": imageFile("api", { desired_instances: 1, env: "{ MODE: fast }" }),
      "apps/more/shop.yaml": imageFile("shop", { desired_instances: 1, tag: "latest" }),
    });
    apps = join(root, "apps");
  });
  afterAll(async () => {
    await server?.stop();
    await removeTree(root);
  });

  it("applies a folder of three images and waits until they have converged", async () => {
    const result = await cli("apply", "-f", apps, "--wait", "--timeout", "90s");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines.slice(0, 4)).toEqual([
      "+ api (create)",
      "+ shop (create)",
      "+ web (create)",
      "3 to create, 0 to change, 0 to delete",
    ]);
    expect(lines.at(-1)).toBe("3 images ready");
    const images = await byName();
    expect(Object.keys(images).sort()).toEqual(["api", "shop", "web"]);
    for (const image of Object.values(images)) {
      expect(image).toMatchObject({ apply_set: "apps", cpu_limit: "0.1", memory_limit: "16m" });
      expect(image.observed_generation).toBe(image.generation);
      expect(image.conditions.find((c: any) => c.type === "Ready").status).toBe("True");
    }
    expect(images.api.env).toEqual({ MODE: "fast" });
    expect(await runningContainers(server.orchestratorId, images.web.id)).toHaveLength(2);
    expect(await runningContainers(server.orchestratorId, images.api.id)).toHaveLength(1);
    expect(await runningContainers(server.orchestratorId, images.shop.id)).toHaveLength(1);

    const again = await cli("diff", "-f", apps);
    expect(again).toMatchObject({ code: 0, stdout: "No changes.\n", stderr: "" });
  });

  it("lists images and containers as a table, wide, JSON and YAML", async () => {
    const table = await cli("get", "images");
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split("\n");
    expect(header).toMatch(/^ID\s+NAME\s+STATUS\s+READY\s+IMAGE\s+AGE$/);
    expect(rows).toHaveLength(3);
    expect(rows.find((row) => row.includes(" web "))).toMatch(
      /ready\s+2\/2\s+orchestrator-test\/httpd:latest/,
    );

    const wide = await cli("get", "images", "web", "-o", "wide");
    expect(wide.stdout.split("\n")[0]).toMatch(
      /TAG\s+CPU\s+MEMORY\s+MIN\s+MAX\s+HOSTNAME\s+SET\s+GEN\s+POOL\s+REASON\s+USER$/,
    );
    expect(wide.stdout.split("\n")[1]).toMatch(/latest\s+0\.1\s+16m\s+0\s+3\s+apps\s+1\/1/);

    const json = JSON.parse((await cli("get", "images", "-o", "json")).stdout);
    expect(json.items.map((image: any) => image.name).sort()).toEqual(["api", "shop", "web"]);
    const yaml = await cli("get", "images", "api", "-o", "yaml");
    expect(yaml.stdout).toMatch(/^items:\n {2}- id: \d+\n {4}user_id: "\d+"\n {4}name: api\n/);

    const containers = await cli("get", "containers", "web");
    const containerRows = containers.stdout.trim().split("\n");
    expect(containerRows[0]).toMatch(
      /^ID\s+NAME\s+IMAGE\s+STATE\s+DESIRED\s+PORTS\s+RESTARTS\s+AGE$/,
    );
    expect(containerRows.slice(1)).toHaveLength(2);
    for (const row of containerRows.slice(1)) {
      expect(row).toMatch(/\sweb\s+running\s+running\s+127\.0\.0\.1:\d+->8080\s+0\s/);
    }
    expect((await cli("get", "pods")).code).toBe(2);
    expect((await cli("get", "images", "-o", "xml")).code).toBe(2);
    const missing = await cli("get", "images", "nope");
    // Not found exits 1, like kubectl (2 is for usage errors).
    expect(missing).toMatchObject({ code: 1, stderr: "orchestrator: image nope not found\n" });
  });

  it("changes only the image whose file was edited", async () => {
    const before = await byName();
    const containersBefore = Object.fromEntries(
      await Promise.all(
        Object.values(before).map(async (image) => [
          image.name,
          (await runningContainers(server.orchestratorId, image.id)).map((c) => c.Id).sort(),
        ]),
      ),
    );
    await writeFile(
      join(apps, "api.yaml"),
      imageFile("api", { desired_instances: 1, env: "{ MODE: slow }" }),
    );

    const diff = await cliProcess(["diff", "-f", apps], env);
    expect(diff.stderr).toBe("");
    expect(diff.stdout).toBe(
      '-/+ api (replace: env changed; env {"MODE":"fast"} → {"MODE":"slow"})\n0 to create, 1 to change, 0 to delete\n',
    );
    expect(diff.code).toBe(1);

    const applied = await cli("apply", "-f", apps, "--wait");
    expect(applied.code).toBe(0);
    expect(applied.stdout.split("\n").slice(0, 2)).toEqual([
      '-/+ api (replace: env changed; env {"MODE":"fast"} → {"MODE":"slow"})',
      "0 to create, 1 to change, 0 to delete",
    ]);
    const after = await byName();
    expect(after.api.generation).toBe(before.api.generation + 1);
    expect(after.api.env).toEqual({ MODE: "slow" });
    for (const name of ["web", "shop"]) {
      expect(after[name].generation).toBe(before[name].generation);
      expect(after[name].resource_version).toBe(before[name].resource_version);
      const ids = (await runningContainers(server.orchestratorId, after[name].id))
        .map((c) => c.Id)
        .sort();
      expect(ids).toEqual(containersBefore[name]);
    }
    const apiContainers = await waitFor(
      () => runningContainers(server.orchestratorId, after.api.id),
      (containers) =>
        containers.length === 1 && !containersBefore.api?.includes(containers[0]?.Id ?? ""),
      { what: "api replaced" },
    );
    expect(apiContainers).toHaveLength(1);
  });

  it("exits 2 on every error of every broken file, and changes nothing on the server", async () => {
    const before = await imagesOf();
    const broken = await tempTree({
      "apps/good.yaml": imageFile("fresh"),
      "apps/syntax.yaml": "apiVersion: orchestrator/v1\nkind: Image\nmetadata:\n  name: [oops\n",
      "apps/unknown.yaml": imageFile("api", { desired_instances: 1, replicas: 3 }),
      "apps/bounds.yaml": imageFile("web", { min_instances: 4, max_instances: 2 }),
    });
    try {
      const result = await cliProcess(["apply", "-f", join(broken, "apps")], env);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      const lines = result.stderr.trim().split("\n");
      const file = (name: string) => join(broken, "apps", name);
      expect(lines).toEqual([
        `${file("bounds.yaml")}:9:18: spec.min_instances: must be ≤ max_instances (2)`,
        expect.stringMatching(new RegExp(`^${file("syntax.yaml")}:\\d+:\\d+: .+`)),
        `${file("unknown.yaml")}:10:3: spec.replicas: unknown field`,
        "3 errors in desired-state files; nothing was applied",
      ]);
      const diff = await cliProcess(["diff", "-f", join(broken, "apps")], env);
      expect(diff.code).toBe(2);
      expect(diff.stderr.trim().split("\n")).toHaveLength(4);
    } finally {
      await removeTree(broken);
    }
    expect(await imagesOf()).toEqual(before);
  });

  it("diff exits 0 with nothing to change, 1 with changes, 2 on errors", async () => {
    expect((await cliProcess(["diff", "-f", apps], env)).code).toBe(0);
    await writeFile(
      join(apps, "web.yaml"),
      imageFile("web", { desired_instances: 3, max_instances: 3 }),
    );
    const changed = await cliProcess(["diff", "-f", apps], env);
    expect(changed).toMatchObject({
      code: 1,
      stdout: "~ web (desired_instances 2 → 3)\n0 to create, 1 to change, 0 to delete\n",
    });
    await writeFile(
      join(apps, "web.yaml"),
      imageFile("web", { desired_instances: 2, max_instances: 3 }),
    );
    expect((await cliProcess(["diff", "-f", apps], env)).code).toBe(0);

    const noServer = await cliProcess(["diff", "-f", apps], {
      ...env,
      ORCHESTRATOR_URL: "http://127.0.0.1:9",
    });
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toMatch(/^orchestrator: cannot reach http:\/\/127\.0\.0\.1:9/);
    const badToken = await cliProcess(["diff", "-f", apps], {
      ...env,
      ORCHESTRATOR_TOKEN: "orc_wrong",
    });
    expect(badToken.code).toBe(2);
    expect(badToken.stderr).toMatch(/\(401\)/);
    expect((await cliProcess(["diff", "-f", join(root, "missing")], env)).code).toBe(2);
    expect((await cliProcess(["diff", "--bogus", "-f", apps], env)).code).toBe(2);
    expect((await cliProcess(["diff"], env)).code).toBe(2);
    const otherSet = await cliProcess(["diff", "-f", apps, "--set", "elsewhere"], env);
    expect(otherSet.code).toBe(2);
    expect(otherSet.stderr).toMatch(/managed by apply set "apps".*--set apps/);
  });

  it("prunes the image whose file was removed, only with --prune, never a hand-made one", async () => {
    const manual = await server.request("POST", "/api/images", {
      token: env.ORCHESTRATOR_TOKEN ?? null,
      body: {
        name: "by-hand",
        image: testImages.httpd,
        desired_instances: 0,
        cpu_limit: "0.1",
        memory_limit: "16m",
      },
    });
    expect(manual.status).toBe(201);
    const shopId = (await byName()).shop.id;
    await rm(join(apps, "more"), { recursive: true });

    const withoutPrune = await cli("apply", "-f", apps);
    expect(withoutPrune).toMatchObject({ code: 0, stdout: "No changes.\n" });
    expect((await byName()).shop.status).not.toBe("deleting");

    const diff = await cli("diff", "-f", apps, "--prune");
    expect(diff).toMatchObject({
      code: 1,
      stdout: "- shop (delete)\n0 to create, 0 to change, 1 to delete\n",
    });

    const pruned = await cli("apply", "-f", apps, "--prune", "--wait", "--timeout", "60s");
    expect(pruned.stderr).toBe("");
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain("- shop (delete)\n0 to create, 0 to change, 1 to delete\n");
    expect(pruned.stdout).toContain("shop deleted\n");
    const images = await byName();
    expect(Object.keys(images).sort()).toEqual(["api", "by-hand", "web"]);
    expect(await runningContainers(server.orchestratorId, shopId)).toHaveLength(0);
    expect((await cli("diff", "-f", apps, "--prune")).code).toBe(0);
  });

  it("refuses a prune that would empty the set unless --allow-empty", async () => {
    const empty = await tempTree({ "apps/README.txt": "nothing here" });
    try {
      const refused = await cli("diff", "-f", join(empty, "apps"), "--prune");
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        /would delete all 2 images of apply set "apps"; pass --allow-empty/,
      );
      const allowed = await cli("diff", "-f", join(empty, "apps"), "--prune", "--allow-empty");
      expect(allowed).toMatchObject({ code: 1 });
      expect(allowed.stdout).toContain("0 to create, 0 to change, 2 to delete");
    } finally {
      await removeTree(empty);
    }
    expect((await imagesOf()).every((image) => image.status !== "deleting")).toBe(true);
  });

  it("exports the desired state as files that diff finds unchanged", async () => {
    const exported = join(root, "exported", "apps");
    const result = await cli("export", "--output-directory", exported);
    expect(result.code).toBe(0);
    expect((await readdir(exported)).sort()).toEqual(["api.yaml", "by-hand.yaml", "web.yaml"]);
    expect(await readFile(join(exported, "web.yaml"), "utf8")).toContain("desired_instances: 2");
    const diff = await cliProcess(["diff", "-f", exported], env);
    expect(diff).toMatchObject({ code: 0, stdout: "No changes.\n", stderr: "" });

    // Into a folder of another name: the images of set "apps" need --set apps. (-o FOLDER is
    // the spelling before -o was the format: it still works, with a warning.)
    const elsewhere = join(root, "exported", "backup");
    const noted = await cli("export", "-o", elsewhere, "--set", "apps");
    expect(noted.code).toBe(0);
    expect(noted.stderr).toContain(
      `warning: "export -o FOLDER" is deprecated: use --output-directory ${elsewhere}`,
    );
    expect(noted.stderr).toContain(
      'note: these images belong to apply set "apps": apply them with --set apps',
    );
    expect((await readdir(elsewhere)).sort()).toEqual(["api.yaml", "web.yaml"]);
    expect((await cliProcess(["diff", "-f", elsewhere, "--set", "apps"], env)).code).toBe(0);

    const stdout = await cli("export", "web");
    expect(stdout.stdout).toBe(await readFile(join(exported, "web.yaml"), "utf8"));
    expect((await cli("export", "web", "-o", "yaml")).stdout).toBe(stdout.stdout);
    expect((await cli("export", "-o", "json")).code).toBe(2);
  });

  it("fails fast with the reason when an applied image is degraded", async () => {
    const folder = await tempTree({
      "broken/crasher.yaml": imageFile("crasher", {
        image: testImages.crasher,
        desired_instances: 1,
      }),
    });
    try {
      const result = await cli("apply", "-f", join(folder, "broken"), "--wait", "--timeout", "90s");
      expect(result.code).toBe(1);
      expect(result.stdout).toContain("+ crasher (create)");
      expect(result.stderr).toMatch(
        /^orchestrator: crasher is degraded: (CrashLoopBackOff|InstancesFailing): /,
      );
    } finally {
      await removeTree(folder);
    }
  });

  it("deletes the images a file names", async () => {
    const folder = await tempTree({});
    try {
      await mkdir(join(folder, "gone"));
      await writeFile(join(folder, "gone", "api.yaml"), imageFile("api"));
      const apiId = (await byName()).api.id;
      const result = await cli("delete", "-f", join(folder, "gone"), "--wait", "--timeout", "60s");
      expect(result.stderr).toBe("");
      expect(result).toMatchObject({ code: 0, stdout: "- api (deleting)\napi deleted\n" });
      expect(await runningContainers(server.orchestratorId, apiId)).toHaveLength(0);
      const again = await cli("delete", "-f", join(folder, "gone"));
      expect(again).toMatchObject({ code: 1, stderr: "orchestrator: image api not found\n" });
      expect((await cli("delete", "-f", join(folder, "gone"), "--ignore-not-found")).code).toBe(0);
    } finally {
      await removeTree(folder);
    }
  });

  it("prints help for every command and exits 0", async () => {
    for (const command of ["apply", "diff", "get", "delete", "export", "serve"]) {
      const result = await cli(command, "--help");
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: orchestrator ${command}`));
    }
  });
});
