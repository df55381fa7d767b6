import { randomBytes } from "node:crypto";
import { readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { isArchiveError } from "../../src/archive/archive-error.ts";
import { extractArchive } from "../../src/archive/extract-archive.ts";
import {
  createSandbox,
  listTree,
  modeOf,
  paxGlobalHeader,
  removeSandboxes,
  type Sandbox,
  tarBuffer,
  zipBuffer,
} from "./archive-fixtures.ts";

const limits = { maxBytes: 10 * 1024 * 1024, maxEntries: 100 };
const dockerfile = "FROM busybox\nCOPY . /app\n";

let sandbox: Sandbox;
afterEach(async () => {
  await removeSandboxes();
});

type Layout = { readonly name: string; readonly prefix: string };
const layouts: readonly Layout[] = [
  { name: "at the root", prefix: "" },
  { name: "in a single top-level folder", prefix: "repo-main/" },
];

async function appArchive(format: "zip" | "tar" | "tar.gz", prefix: string): Promise<Buffer> {
  if (format === "zip") {
    return zipBuffer([
      ...(prefix === "" ? [] : [{ name: prefix.slice(0, -1), directory: true }]),
      { name: `${prefix}Dockerfile`, content: dockerfile },
      { name: `${prefix}bin`, directory: true, mode: 0o40755 },
      { name: `${prefix}bin/start.sh`, content: "#!/bin/sh\necho hi\n", mode: 0o100755 },
      { name: `${prefix}www/index.html`, content: "<h1>hi</h1>\n", mode: 0o100644 },
      { name: `${prefix}setuid`, content: "x", mode: 0o104755 },
      { name: `${prefix}current`, mode: 0o120777, content: "www/index.html" },
    ]);
  }
  return tarBuffer(
    [
      ...(prefix === "" ? [] : [{ name: prefix, type: "directory" as const }]),
      { name: `${prefix}Dockerfile`, content: dockerfile },
      { name: `${prefix}bin/`, type: "directory" },
      { name: `${prefix}bin/start.sh`, content: "#!/bin/sh\necho hi\n", mode: 0o755 },
      { name: `${prefix}www/index.html`, content: "<h1>hi</h1>\n" },
      { name: `${prefix}setuid`, content: "x", mode: 0o4755 },
      { name: `${prefix}current`, type: "symlink", linkname: "www/index.html" },
      { name: `${prefix}www/same.html`, type: "link", linkname: `${prefix}www/index.html` },
    ],
    { gzip: format === "tar.gz" },
  );
}

describe.each(["zip", "tar", "tar.gz"] as const)("extracting a %s", (format) => {
  describe.each(layouts)("with the Dockerfile $name", ({ prefix }) => {
    it("writes the context, keeps exec bits, drops setuid, keeps inside symlinks", async () => {
      sandbox = await createSandbox();
      const archive = await sandbox.write(await appArchive(format, prefix));
      const result = await extractArchive(archive, sandbox.target, limits);

      expect(result).toMatchObject({
        contextDir: sandbox.target,
        format,
        hasDockerfile: true,
        strippedFolder: prefix === "" ? undefined : "repo-main",
      });
      const tree = await listTree(sandbox.target);
      expect(tree).toEqual(
        expect.arrayContaining([
          "Dockerfile",
          "bin",
          "bin/start.sh",
          "current",
          "setuid",
          "www",
          "www/index.html",
        ]),
      );
      expect(tree.some((path) => path.startsWith("repo-main"))).toBe(false);
      expect(await readFile(join(sandbox.target, "Dockerfile"), "utf8")).toBe(dockerfile);
      expect((await modeOf(join(sandbox.target, "bin/start.sh"))) & 0o111).toBe(0o111);
      expect((await modeOf(join(sandbox.target, "www/index.html"))) & 0o111).toBe(0);
      expect((await modeOf(join(sandbox.target, "setuid"))) & 0o7000).toBe(0);
      expect(await readlink(join(sandbox.target, "current"))).toBe("www/index.html");
      expect(await readFile(join(sandbox.target, "current"), "utf8")).toBe("<h1>hi</h1>\n");
      if (format !== "zip") {
        expect(await readFile(join(sandbox.target, "www/same.html"), "utf8")).toBe("<h1>hi</h1>\n");
      }
      expect(result.bytes).toBeGreaterThan(dockerfile.length);
      expect(result.entries).toBe((format === "zip" ? 6 : 7) + (prefix === "" ? 0 : 1));
      expect(await sandbox.pathsOutsideTarget()).toEqual([]);
    });
  });

  it("extracts into a target that exists and is empty", async () => {
    sandbox = await createSandbox();
    const archive = await sandbox.write(await appArchive(format, ""));
    await extractArchive(archive, sandbox.target, limits);
    const again = await createSandbox();
    try {
      const other = await again.write(await appArchive(format, ""));
      await extractArchive(other, again.target, limits);
      expect(await listTree(again.target)).toEqual(await listTree(sandbox.target));
    } finally {
      await again.remove();
    }
  });
});

describe("file sizes", () => {
  // Small entries are read whole and written in the background, mid-size zip entries inflate
  // on the thread pool, large ones stream: every path must give back the same bytes.
  const sizes = [0, 100 * 1024, 600 * 1024, 3 * 1024 * 1024];
  const contents = sizes.map((size) => randomBytes(size / 2).toString("hex"));

  it.each(["zip", "tar.gz"] as const)(
    "round-trips files of every size through a %s",
    async (format) => {
      sandbox = await createSandbox();
      const entries = contents.map((content, index) => ({ name: `data/${index}.txt`, content }));
      const archive = await sandbox.write(
        format === "zip" ? await zipBuffer(entries) : await tarBuffer(entries, { gzip: true }),
      );
      const result = await extractArchive(archive, sandbox.target, limits);
      expect(result.bytes).toBe(sizes.reduce((sum, size) => sum + size, 0));
      for (const [index, content] of contents.entries()) {
        expect(await readFile(join(sandbox.target, `data/${index}.txt`), "utf8")).toBe(content);
      }
    },
  );
});

describe("the Dockerfile rule", () => {
  it("does not strip a single top-level folder that has no Dockerfile", async () => {
    sandbox = await createSandbox();
    const archive = await sandbox.write(
      await tarBuffer([{ name: "only/readme.md", content: "hello" }]),
    );
    const result = await extractArchive(archive, sandbox.target, limits);
    expect(result).toMatchObject({ hasDockerfile: false, strippedFolder: undefined });
    expect(await listTree(sandbox.target)).toEqual(["only", "only/readme.md"]);
  });

  it("refuses, saying what was found, and cleans up when a Dockerfile is required", async () => {
    sandbox = await createSandbox();
    const archive = await sandbox.write(
      await zipBuffer([
        { name: "a.txt", content: "a" },
        { name: "src/main.go", content: "package main" },
      ]),
    );
    const error = await extractArchive(archive, sandbox.target, {
      ...limits,
      requireDockerfile: true,
    }).catch((caught: unknown) => caught);
    expect(isArchiveError(error) && error.code).toBe("no_dockerfile");
    expect((error as Error).message).toBe(
      "no Dockerfile at the root of the archive (found: a.txt, src/)",
    );
    expect(await sandbox.pathsOutsideTarget()).toEqual([]);
    expect(await listTree(join(sandbox.root, "a/b/c"))).toEqual([]);
  });

  it("strips the folder of a GitHub-style tar.gz (pax global header first)", async () => {
    sandbox = await createSandbox();
    const tar = await tarBuffer([
      { name: "shop-4f2a9c1/", type: "directory" },
      { name: "shop-4f2a9c1/Dockerfile", content: dockerfile },
      { name: "shop-4f2a9c1/www/index.html", content: "hi" },
    ]);
    const archive = await sandbox.write(
      gzipSync(Buffer.concat([paxGlobalHeader("4f2a9c1".padEnd(40, "0")), tar])),
    );
    const result = await extractArchive(archive, sandbox.target, limits);
    expect(result).toMatchObject({ format: "tar.gz", strippedFolder: "shop-4f2a9c1", entries: 3 });
    expect(await listTree(sandbox.target)).toEqual(["Dockerfile", "www", "www/index.html"]);
  });

  it("ignores macOS metadata beside the single folder", async () => {
    sandbox = await createSandbox();
    const archive = await sandbox.write(
      await zipBuffer([
        { name: "app/Dockerfile", content: dockerfile },
        { name: "__MACOSX/app/._Dockerfile", content: "junk" },
      ]),
    );
    const result = await extractArchive(archive, sandbox.target, limits);
    expect(result.strippedFolder).toBe("app");
    expect(await listTree(sandbox.target)).toEqual(["Dockerfile"]);
  });

  it("refuses to extract into a folder that already holds something", async () => {
    sandbox = await createSandbox();
    const archive = await sandbox.write(await tarBuffer([{ name: "Dockerfile", content: "x" }]));
    await extractArchive(archive, sandbox.target, limits);
    await expect(extractArchive(archive, sandbox.target, limits)).rejects.toThrow(/not empty/);
    expect(await listTree(sandbox.target)).toEqual(["Dockerfile"]);
  });
});
