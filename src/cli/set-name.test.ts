import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveSetName, setNameOfFolder } from "./set-name.ts";

describe("setNameOfFolder", () => {
  it.each([
    ["apps", "apps"],
    ["my apps", "my-apps"],
    [".hidden", "hidden"],
    ["déploiement", "d-ploiement"],
    ["", undefined],
    ["...", undefined],
  ])("%j → %j", (folder, name) => {
    expect(setNameOfFolder(folder)).toBe(name);
  });
});

describe("resolveSetName", () => {
  it("takes --set, else the folder given, else the folder of the file given", async () => {
    const root = await mkdtemp(join(tmpdir(), "set-name-"));
    try {
      await writeFile(join(root, "shop.yaml"), "");
      expect(await resolveSetName("team/apps", [root])).toBe("team/apps");
      expect(await resolveSetName(undefined, [root])).toMatch(/^set-name-/);
      expect(await resolveSetName(undefined, [join(root, "shop.yaml"), "/elsewhere"])).toMatch(
        /^set-name-/,
      );
      await expect(resolveSetName("-bad", [root])).rejects.toThrow(/--set -bad: must be/);
      await expect(resolveSetName(undefined, [])).rejects.toThrow(/-f FILE_OR_FOLDER is required/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
