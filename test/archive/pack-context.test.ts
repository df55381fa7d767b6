import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tarStream from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { digestFile } from "../../src/archive/digest-file.ts";
import { packContext } from "../../src/archive/pack-context.ts";

type Packed = { type: string; mode: number; linkname?: string; content: string };

async function unpack(stream: Readable): Promise<Map<string, Packed>> {
  const extract = tarStream.extract();
  const entries = new Map<string, Packed>();
  const piping = pipeline(stream, extract).then(
    () => undefined,
    (error: unknown) => error,
  );
  let failure: unknown;
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      entries.set(entry.header.name.replace(/\/$/, ""), {
        type: entry.header.type,
        mode: entry.header.mode,
        ...(entry.header.linkname ? { linkname: entry.header.linkname } : {}),
        content: Buffer.concat(chunks).toString("utf8"),
      });
    }
  } catch (error) {
    failure = error;
  }
  const error = (await piping) ?? failure;
  if (error !== undefined) throw error;
  return entries;
}

let scratch: string;
afterEach(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("packContext", () => {
  it("packs the folder as docker build would: .dockerignore honoured, links not followed", async () => {
    scratch = await mkdtemp(join(tmpdir(), "pack-test-"));
    const context = join(scratch, "context");
    await mkdir(join(context, "src"), { recursive: true });
    await mkdir(join(context, "node_modules/dep"), { recursive: true });
    await mkdir(join(context, "vendor"), { recursive: true });
    await writeFile(join(context, "Dockerfile"), "FROM busybox\n");
    await writeFile(
      join(context, ".dockerignore"),
      "# build output\nnode_modules\n*.log\n!important.log\nvendor\n!vendor/keep.txt\nDockerfile\n",
    );
    await writeFile(join(context, "src/main.sh"), "#!/bin/sh\n");
    await chmod(join(context, "src/main.sh"), 0o755);
    await writeFile(join(context, "node_modules/dep/index.js"), "x");
    await writeFile(join(context, "debug.log"), "noise");
    await writeFile(join(context, "important.log"), "keep me");
    await writeFile(join(context, "vendor/keep.txt"), "kept");
    await writeFile(join(context, "vendor/drop.txt"), "dropped");
    await writeFile(join(scratch, "secret"), "outside the context");
    await symlink("../secret", join(context, "escape"));
    await symlink("/etc/passwd", join(context, "passwd"));

    const entries = await unpack(packContext(context));

    expect([...entries.keys()].sort()).toEqual([
      ".dockerignore",
      "Dockerfile",
      "escape",
      "important.log",
      "passwd",
      "src",
      "src/main.sh",
      "vendor/keep.txt",
    ]);
    expect(entries.get("escape")).toMatchObject({
      type: "symlink",
      linkname: "../secret",
      content: "",
    });
    expect(entries.get("passwd")).toMatchObject({ type: "symlink", linkname: "/etc/passwd" });
    expect(entries.get("src/main.sh")?.mode ?? 0).toSatisfy((mode: number) => (mode & 0o111) !== 0);
    expect(entries.get("Dockerfile")?.content).toBe("FROM busybox\n");
    for (const entry of entries.values())
      expect(entry.content).not.toContain("outside the context");
  });

  it("destroys the stream with an error for a missing folder", async () => {
    scratch = await mkdtemp(join(tmpdir(), "pack-test-"));
    await expect(unpack(packContext(join(scratch, "missing")))).rejects.toThrow(/ENOENT/);
  });
});

describe("digestFile", () => {
  it("is the sha256 of the file's bytes, in hex", async () => {
    scratch = await mkdtemp(join(tmpdir(), "digest-test-"));
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, "abc");
    await writeFile(join(scratch, "upload"), bytes);
    expect(await digestFile(join(scratch, "upload"))).toBe(
      createHash("sha256").update(bytes).digest("hex"),
    );
  });
});
