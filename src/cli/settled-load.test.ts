import { mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatFileError } from "../gitops/file-error.ts";
import { emptyFileMessage, loadSettled } from "./settled-load.ts";

function document(name: string, desired: number): string {
  return `apiVersion: orchestrator/v1\nkind: Image\nmetadata:\n  name: ${name}\nspec:\n  image: busybox:latest\n  desired_instances: ${desired}\n  max_instances: 3\n`;
}

describe("loadSettled", () => {
  let folder: string;
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), "orchestrator-settled-"));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("reads again when a file changes while it settles, and returns what was written last", async () => {
    await writeFile(join(folder, "web.yaml"), document("web", 1));
    const writes = [
      () => writeFile(join(folder, "web.yaml"), `${document("web", 2)}# a longer file\n`),
    ];
    let sleeps = 0;
    const loaded = await loadSettled([folder], {
      sleep: async () => {
        sleeps += 1;
        await writes.shift()?.();
      },
    });
    expect(sleeps).toBe(2);
    expect(loaded.errors).toEqual([]);
    expect(loaded.documents.map((item) => item.spec.desired_instances)).toEqual([2]);
  });

  it("makes an empty file an error and keeps the other files' documents out of nothing", async () => {
    await writeFile(join(folder, "web.yaml"), document("web", 1));
    await writeFile(join(folder, "api.yaml"), document("api", 1));
    await truncate(join(folder, "web.yaml"));
    await writeFile(join(folder, "notes.yaml"), "# only a comment\n");
    const loaded = await loadSettled([folder], { sleep: async () => {} });
    expect(loaded.errors.map(formatFileError)).toEqual([
      `${join(folder, "notes.yaml")}:1:1: ${emptyFileMessage}`,
      `${join(folder, "web.yaml")}:1:1: ${emptyFileMessage}`,
    ]);
  });

  it("does not call a file with a broken document empty", async () => {
    await writeFile(join(folder, "web.yaml"), "apiVersion: orchestrator/v1\nkind: Image\n");
    const loaded = await loadSettled([folder], { sleep: async () => {} });
    expect(loaded.errors.length).toBeGreaterThan(0);
    expect(loaded.errors.map((error) => error.message)).not.toContain(emptyFileMessage);
  });

  it("gives up on files that never settle, with an error rather than what it read", async () => {
    await writeFile(join(folder, "web.yaml"), document("web", 1));
    let round = 0;
    const loaded = await loadSettled([folder], {
      maxWaitMs: 0,
      sleep: async () => {
        round += 1;
        await writeFile(join(folder, "web.yaml"), `${document("web", 1)}${"#".repeat(round)}\n`);
      },
    });
    expect(loaded.errors.map((error) => error.message)).toEqual([
      "the files kept changing for 0s; nothing was applied, the last applied state stays",
    ]);
  });
});
