import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { contextDir, resolveBuildPaths } from "./build-paths.ts";

const logger = pino({ level: "silent" });

describe("resolveBuildPaths", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "build-paths-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("uses BUILD_CONTEXT_BASE_DIR when set, creating it", async () => {
    const base = join(root, "contexts");
    const paths = await resolveBuildPaths(
      { buildContextBaseDir: base, dataDir: join(root, "data") },
      logger,
    );
    expect(paths.contextBase).toBe(base);
    expect(contextDir(paths, 7, 42)).toBe(join(base, "7", "42", "context"));
    expect(await readdir(base)).toEqual([".incoming"]);
    expect(paths.logs).toBe(join(root, "data", "build-logs"));
  });

  it("uses the default when it can be written", async () => {
    const wanted = join(root, "var", "lib", "build-contexts");
    const paths = await resolveBuildPaths(
      { buildContextBaseDir: undefined, dataDir: join(root, "data") },
      logger,
      wanted,
    );
    expect(paths.contextBase).toBe(wanted);
  });

  it("falls back under DATA_DIR when the default cannot be written", async () => {
    // A path below a regular file cannot be created, even by root.
    await writeFile(join(root, "not-a-folder"), "");
    const paths = await resolveBuildPaths(
      { buildContextBaseDir: undefined, dataDir: join(root, "data") },
      logger,
      join(root, "not-a-folder", "build-contexts"),
    );
    expect(paths.contextBase).toBe(join(root, "data", "build-contexts"));
  });

  it("refuses an explicit folder that cannot be written, naming it", async () => {
    await writeFile(join(root, "not-a-folder"), "");
    await expect(
      resolveBuildPaths(
        { buildContextBaseDir: join(root, "not-a-folder", "x"), dataDir: join(root, "data") },
        logger,
      ),
    ).rejects.toThrow(/BUILD_CONTEXT_BASE_DIR=.*not-a-folder\/x is not writable/);
  });

  it("removes uploads staged long ago by a process that died, and only those", async () => {
    const base = join(root, "contexts");
    const old = join(base, ".incoming", "old");
    const fresh = join(base, ".incoming", "fresh");
    await mkdir(old, { recursive: true });
    await mkdir(fresh, { recursive: true });
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(old, longAgo, longAgo);
    await resolveBuildPaths({ buildContextBaseDir: base, dataDir: join(root, "data") }, logger);
    expect(await readdir(join(base, ".incoming"))).toEqual(["fresh"]);
  });
});
