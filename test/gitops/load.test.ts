import { realpath } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { containerOptionDefaults } from "../../src/domain/container-options.ts";
import { formatFileError } from "../../src/gitops/file-error.ts";
import { loadDocuments } from "../../src/gitops/load.ts";
import { imageDocument, link, removeTree, tempTree, writeTree } from "./temp-tree.ts";

const roots: string[] = [];
async function tree(files: Readonly<Record<string, string>>): Promise<string> {
  const root = await tempTree(files);
  roots.push(root);
  return root;
}
afterEach(async () => {
  await Promise.all(roots.splice(0).map(removeTree));
});

const dockerfile = "FROM scratch\n";

async function errorLines(paths: string[]): Promise<string[]> {
  const result = await loadDocuments(paths);
  return result.errors.map(formatFileError);
}

describe("loadDocuments: happy path", () => {
  it("reads several documents per file and folders recursively, sorted", async () => {
    const root = await tree({
      ".git/HEAD": "ref: refs/heads/main\n",
      "apps/shop.yaml": `${imageDocument("shop", "  source: ./shop\n  desired_instances: 3\n")}---\n${imageDocument("cart", "  image: cart:v1\n")}`,
      "apps/shop/Dockerfile": dockerfile,
      "apps/a/nested/web.yml": imageDocument("web", "  image: nginx:1.27\n  memory_limit: 1Gi\n"),
      "apps/b.yaml": imageDocument("api", "  image: api:v2\n  tag: v2\n"),
      "apps/README.md": "not a document",
      "apps/.hidden/ignored.yaml": "not: read",
      "apps/node_modules/pkg/ignored.yaml": "not: read",
      "apps/.ci.yml": "not: read",
    });
    const result = await loadDocuments([join(root, "apps")]);
    expect(result.errors).toEqual([]);
    expect(result.documents.map((document) => [document.file, document.name])).toEqual([
      [join(root, "apps/a/nested/web.yml"), "web"],
      [join(root, "apps/b.yaml"), "api"],
      [join(root, "apps/shop.yaml"), "shop"],
      [join(root, "apps/shop.yaml"), "cart"],
    ]);
    const shop = result.documents.find((document) => document.name === "shop");
    expect(shop).toEqual({
      file: join(root, "apps/shop.yaml"),
      line: 4,
      column: 9,
      name: "shop",
      source: await realpath(join(root, "apps/shop")),
      dependsOnPositions: [],
      desiredInstancesWritten: true,
      spec: {
        tag: "latest",
        app_hostname: null,
        container_port: 8080,
        min_instances: 0,
        max_instances: 10,
        desired_instances: 3,
        cpu_limit: "1",
        memory_limit: "512m",
        env: {},
        health_check: null,
        ...containerOptionDefaults,
      },
    });
    expect(result.documents.find((document) => document.name === "web")?.spec).toMatchObject({
      image: "nginx:1.27",
      memory_limit: "1g",
    });
  });

  it("names files as the user named the folder, and reads a file given directly once", async () => {
    const root = await tree({ "one.yaml": imageDocument("one", "  image: one\n") });
    const file = join(root, "one.yaml");
    const result = await loadDocuments([file, root, file]);
    expect(result.errors).toEqual([]);
    expect(result.documents.map((document) => document.file)).toEqual([file]);
  });

  it("reads a file given directly whatever its extension", async () => {
    const root = await tree({ "state.txt": imageDocument("one", "  image: one\n") });
    const result = await loadDocuments([join(root, "state.txt")]);
    expect(result.documents.map((document) => document.name)).toEqual(["one"]);
  });

  it("returns nothing, without error, for a folder without documents", async () => {
    const root = await tree({ "notes.md": "" });
    expect(await loadDocuments([root])).toEqual({ documents: [], errors: [], files: [] });
  });
});

describe("loadDocuments: errors", () => {
  it("collects every error of every file at once, each as file:line:column: path: message", async () => {
    const root = await tree({
      "a.yaml": imageDocument(
        "shop",
        "  image: nginx\n  max_instances: 2\n  min_instances: 3\n  replicas: 2\n",
      ),
      "b.yaml": `${imageDocument("api", "  image: api\n  cpu_limit: lots\n")}---\napiVersion: orchestrator/v1\nkind: Image\nmetadata: {}\nspec: { image: x }\n`,
      "c.yaml": "kind: [Image\n",
      "d.yaml": imageDocument(
        "Bad_Name",
        "  image: x\n  env: { 1X: y }\n  health_check: { test: [CMD] }\n",
      ),
    });
    expect(await errorLines([root])).toEqual([
      `${root}/a.yaml:8:18: spec.min_instances: must be ≤ max_instances (2)`,
      `${root}/a.yaml:9:3: spec.replicas: unknown field`,
      `${root}/b.yaml:7:14: spec.cpu_limit: must be cores ("0.5", "2") or millicores ("500m")`,
      `${root}/b.yaml:11:11: metadata.name: required`,
      `${root}/c.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      `${root}/d.yaml:4:9: metadata.name: must be 1-40 lowercase letters, digits or '-', not starting or ending with '-'`,
      `${root}/d.yaml:7:10: spec.env.1X: must be a variable name like LOG_LEVEL`,
      `${root}/d.yaml:8:25: spec.health_check.test: Too small: expected array to have >=2 items`,
    ]);
  });

  it("reports a path that does not exist", async () => {
    const root = await tree({});
    expect(await errorLines([join(root, "missing")])).toEqual([
      `${root}/missing:1:1: no such file or folder`,
    ]);
  });

  it("reports a duplicate name at its second place, naming the first", async () => {
    const root = await tree({
      "a.yaml": imageDocument("shop", "  image: shop:v1\n"),
      "b.yaml": `${imageDocument("api", "  image: api\n")}---\n${imageDocument("shop", "  image: shop:v2\n")}`,
      "c.yaml": imageDocument("api", "  tag: bad tag\n  image: api\n"),
    });
    expect(await errorLines([root])).toEqual([
      `${root}/b.yaml:11:9: metadata.name: duplicate name "shop", also at ${root}/a.yaml:4:9`,
      `${root}/c.yaml:4:9: metadata.name: duplicate name "api", also at ${root}/b.yaml:4:9`,
      `${root}/c.yaml:6:8: spec.tag: must be a Docker tag: letters, digits, '_', '.', '-' (up to 128, not starting with '.' or '-')`,
    ]);
  });
});

describe("loadDocuments: depends_on across the set", () => {
  it("refuses a cycle across files at the entry that starts it; names outside the set are the server's to check", async () => {
    const root = await tree({
      "app.yaml": imageDocument("app", "  image: app:v1\n  depends_on:\n    - cache\n    - db\n"),
      "db.yaml": imageDocument(
        "db",
        "  image: db:v1\n  depends_on:\n    - name: app\n      condition: started\n",
      ),
      "self.yaml": imageDocument("self", "  image: s:v1\n  depends_on: [self]\n"),
    });
    expect(await errorLines([root])).toEqual([
      `${root}/app.yaml:9:7: spec.depends_on[1]: app → db → app is a cycle`,
      `${root}/self.yaml:7:16: spec.depends_on[0]: self → self is a cycle`,
    ]);
  });
});

describe("loadDocuments: source folders", () => {
  it("rejects a folder that does not exist, is a file, or has no Dockerfile", async () => {
    const root = await tree({
      ".git/": "",
      "set.yaml": [
        imageDocument("gone", "  source: ./gone\n"),
        imageDocument("file", "  source: ./file.txt\n"),
        imageDocument("empty", "  source: empty\n"),
      ].join("---\n"),
      "file.txt": "",
      "empty/": "",
    });
    expect(await errorLines([join(root, "set.yaml")])).toEqual([
      `${root}/set.yaml:6:11: spec.source: folder "./gone" does not exist`,
      `${root}/set.yaml:13:11: spec.source: "./file.txt" is not a folder`,
      `${root}/set.yaml:20:11: spec.source: folder "empty" has no Dockerfile`,
    ]);
  });

  it("rejects a folder outside the Git work tree holding the file", async () => {
    const outside = await tree({ "app/Dockerfile": dockerfile });
    const repo = await tree({
      ".git/": "",
      "deploy/shop.yaml": imageDocument(
        "shop",
        `  source: ../../${outside.split("/").pop()}/app\n`,
      ),
    });
    const [line] = await errorLines([join(repo, "deploy")]);
    expect(line).toMatch(
      new RegExp(
        `^${repo}/deploy/shop.yaml:6:11: spec.source: ".*" resolves to .*/app, outside the repository root ${await realpath(repo)}$`,
      ),
    );
  });

  it("rejects a folder that leaves the repository through a symlink", async () => {
    const outside = await tree({ Dockerfile: dockerfile });
    const repo = await tree({
      ".git/": "",
      "shop.yaml": imageDocument("shop", "  source: ./linked\n"),
    });
    await link(repo, "linked", outside);
    expect(await errorLines([repo])).toEqual([
      `${repo}/shop.yaml:6:11: spec.source: "./linked" resolves to ${await realpath(outside)}, outside the repository root ${await realpath(repo)}`,
    ]);
  });

  it("accepts a symlink that stays inside the repository", async () => {
    const repo = await tree({
      ".git/": "",
      "src/shop/Dockerfile": dockerfile,
      "deploy/shop.yaml": imageDocument("shop", "  source: ./shop\n"),
    });
    await link(repo, "deploy/shop", "../src/shop");
    const result = await loadDocuments([join(repo, "deploy")]);
    expect(result.errors).toEqual([]);
    expect(result.documents[0]?.source).toBe(await realpath(join(repo, "src/shop")));
  });

  it("accepts a folder above the file but inside the work tree", async () => {
    const repo = await tree({
      ".git/": "",
      "services/shop/Dockerfile": dockerfile,
      "deploy/prod/shop.yaml": imageDocument("shop", "  source: ../../services/shop\n"),
    });
    const result = await loadDocuments([join(repo, "deploy/prod")]);
    expect(result.errors).toEqual([]);
  });

  it("without a Git work tree, keeps sources inside the folder given", async () => {
    const root = await tree({
      "services/shop/Dockerfile": dockerfile,
      "deploy/shop.yaml": imageDocument("shop", "  source: ../services/shop\n"),
      "deploy/web/Dockerfile": dockerfile,
      "deploy/web.yaml": imageDocument("web", "  source: web\n"),
    });
    expect(await errorLines([join(root, "deploy")])).toEqual([
      `${root}/deploy/shop.yaml:6:11: spec.source: "../services/shop" resolves to ${await realpath(join(root, "services/shop"))}, outside the repository root ${await realpath(join(root, "deploy"))}`,
    ]);
    await writeTree(root, { ".git/": "" });
    expect(await errorLines([join(root, "deploy")])).toEqual([]);
  });
});
