import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { listContextEntries } from "../../src/archive/context-entries.ts";
import { digestFile } from "../../src/archive/digest-file.ts";
import { packSource } from "../../src/gitops/pack-source.ts";
import { link, removeTree, tempTree } from "./temp-tree.ts";

const roots: string[] = [];
async function tree(files: Readonly<Record<string, string>>): Promise<string> {
  const root = await tempTree(files);
  roots.push(root);
  return root;
}
afterEach(async () => {
  await Promise.all(roots.splice(0).map(removeTree));
});

const context = {
  Dockerfile: "FROM scratch\nCOPY . /app\n",
  "src/main.js": "console.log('hi')\n",
  "src/lib/util.js": "export {}\n",
  "README.md": "# app\n",
};

type Listed = {
  name: string;
  type: string;
  mode: number;
  mtime: number;
  uid: number;
  size: number;
};

async function tarEntries(file: string): Promise<Listed[]> {
  const entries: Listed[] = [];
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    entries.push({
      name: header.name,
      type: header.type,
      mode: header.mode,
      mtime: header.mtime.getTime(),
      uid: header.uid,
      size: header.size,
    });
    stream.on("end", () => next());
    stream.resume();
  });
  await pipeline(createReadStream(file), createGunzip(), extract);
  return entries;
}

const pack = (folder: string, directory: string) => packSource(folder, { directory });

describe("packSource", () => {
  it("packs sorted entries with fixed times, owners and modes", async () => {
    const folder = await tree(context);
    const out = await tree({});
    const packed = await pack(folder, out);
    expect(packed.file.startsWith(out)).toBe(true);
    expect(packed.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(packed.digest).toBe(await digestFile(packed.file));
    expect(packed.entries).toBe(6);
    const entries = await tarEntries(packed.file);
    expect(entries.map((entry) => `${entry.type} ${entry.name}`)).toEqual([
      "file Dockerfile",
      "file README.md",
      "directory src",
      "directory src/lib",
      "file src/lib/util.js",
      "file src/main.js",
    ]);
    for (const entry of entries) {
      expect(entry.mtime).toBe(0);
      expect(entry.uid).toBe(0);
      expect(entry.mode).toBe(entry.type === "directory" ? 0o755 : 0o644);
    }
  });

  it("gives the same digest for the same content, whatever the times and permissions beyond x", async () => {
    const first = await tree(context);
    const second = await tree(context);
    await utimes(join(second, "src/main.js"), new Date("2001-01-01"), new Date("2001-01-01"));
    await utimes(join(second, "src"), new Date("2002-02-02"), new Date("2002-02-02"));
    await chmod(join(second, "README.md"), 0o600);
    const out = await tree({});
    const [left, right] = [await pack(first, out), await pack(second, out)];
    expect(right.digest).toBe(left.digest);
    expect(right.bytes).toBe(left.bytes);
    const again = await pack(first, out);
    expect(again.digest).toBe(left.digest);
    expect(again.file).not.toBe(left.file);
  });

  it("gives a different digest after a change of content, name or executable bit", async () => {
    const folder = await tree(context);
    const out = await tree({});
    const digests = [(await pack(folder, out)).digest];
    await writeFile(join(folder, "src/main.js"), "console.log('hello')\n");
    digests.push((await pack(folder, out)).digest);
    await writeFile(join(folder, "src/new.js"), "");
    digests.push((await pack(folder, out)).digest);
    await chmod(join(folder, "src/new.js"), 0o755);
    digests.push((await pack(folder, out)).digest);
    await rm(join(folder, "README.md"));
    digests.push((await pack(folder, out)).digest);
    expect(new Set(digests).size).toBe(digests.length);
  });

  it("streams large files whole", async () => {
    const folder = await tree({ Dockerfile: "FROM scratch\n" });
    await writeFile(join(folder, "blob.bin"), randomBytes(8 * 1024 * 1024));
    const out = await tree({});
    const entries = await tarEntries((await pack(folder, out)).file);
    expect(entries.find((entry) => entry.name === "blob.bin")?.size).toBe(8 * 1024 * 1024);
  });

  it("keeps symlinks as links, without following them", async () => {
    const folder = await tree({ Dockerfile: "FROM scratch\n" });
    await link(folder, "etc-passwd", "/etc/passwd");
    const out = await tree({});
    const entries = await tarEntries((await pack(folder, out)).file);
    expect(entries.map((entry) => [entry.name, entry.type, entry.size])).toEqual([
      ["Dockerfile", "file", 13],
      ["etc-passwd", "symlink", 0],
    ]);
  });

  it("removes nothing but its own file and leaves the folder as it was", async () => {
    const folder = await tree(context);
    const out = await tree({});
    await pack(folder, out);
    expect((await readdir(out)).length).toBe(1);
    expect((await readdir(folder)).sort()).toEqual(["Dockerfile", "README.md", "src"]);
  });
});

describe("listContextEntries: .dockerignore", () => {
  it("leaves out what .dockerignore names, keeping Dockerfile, .dockerignore and exceptions", async () => {
    const folder = await tree({
      ...context,
      ".dockerignore":
        "# build context\nnode_modules\n*.log\n/dist\n!dist/keep.txt\nDockerfile\n.dockerignore\n**/secret.env\n",
      "node_modules/pkg/index.js": "",
      "debug.log": "",
      "src/nested.log": "",
      "dist/bundle.js": "",
      "dist/keep.txt": "",
      "src/lib/secret.env": "",
      ".git/HEAD": "",
    });
    const entries = await listContextEntries(folder);
    expect(entries.map((entry) => entry.path)).toEqual([
      ".dockerignore",
      ".git",
      ".git/HEAD",
      "Dockerfile",
      "README.md",
      // dist itself is ignored: Docker sends the exception inside it, not the folder.
      "dist/keep.txt",
      "src",
      "src/lib",
      "src/lib/util.js",
      "src/main.js",
      "src/nested.log",
    ]);
  });

  it("does not change the digest when an ignored file changes", async () => {
    const folder = await tree({ ...context, ".dockerignore": "*.log\n" });
    const out = await tree({});
    const before = (await pack(folder, out)).digest;
    await writeFile(join(folder, "build.log"), "noise");
    expect((await pack(folder, out)).digest).toBe(before);
    await writeFile(join(folder, "build.txt"), "content");
    expect((await pack(folder, out)).digest).not.toBe(before);
  });
});
