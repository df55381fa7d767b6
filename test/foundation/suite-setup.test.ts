/**
 * The helper that removes what a suite's setup made (test/support/suite-setup.ts), with real
 * folders: last made first, and what a setup makes after its suite ended (a hook that timed out
 * goes on in the background) removed as soon as it exists, the setup stopped there.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { suiteSetup } from "../support/suite-setup.ts";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
  vi.restoreAllMocks();
});

async function madeFolder(): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), "suite-setup-"));
  folders.push(folder);
  return folder;
}

const removeFolder = (folder: string) => rm(folder, { recursive: true, force: true });

describe("a suite's setup", () => {
  it("removes what it made, last made first, and lets a step without removal through", async () => {
    const setup = suiteSetup();
    const order: string[] = [];
    const first = await setup.make("first", madeFolder, async (folder) => {
      order.push("first");
      await removeFolder(folder);
    });
    expect(await setup.make("a value", async () => 42)).toBe(42);
    const second = await setup.make("second", madeFolder, async (folder) => {
      order.push("second");
      await removeFolder(folder);
    });
    expect([existsSync(first), existsSync(second)]).toEqual([true, true]);

    await setup.removeAll();
    expect(order).toEqual(["second", "first"]);
    expect([existsSync(first), existsSync(second)]).toEqual([false, false]);
  });

  it("removes what a setup still running makes after the suite ended, and stops it there", async () => {
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    const setup = suiteSetup();
    let finish = () => {};
    const slow = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let reachedNext = false;
    // A beforeAll that the hook's timeout gave up on: it is still waiting for its first step.
    const hook = (async () => {
      const folder = await setup.make(
        "the slow folder",
        async () => {
          await slow;
          return madeFolder();
        },
        removeFolder,
      );
      reachedNext = true;
      return folder;
    })();
    await Promise.resolve();

    await setup.removeAll();
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining('still at "the slow folder"'));

    finish();
    await expect(hook).rejects.toThrow(/ended while its setup made "the slow folder"; removed it/);
    expect(reachedNext).toBe(false);
    expect(folders).toHaveLength(1);
    expect(existsSync(folders[0] as string)).toBe(false);
    await expect(setup.make("later", madeFolder, removeFolder)).rejects.toThrow(
      /ended before its setup reached "later"/,
    );
    expect(folders).toHaveLength(1);
  });

  it("tries every removal when one fails, and reports the failure", async () => {
    const setup = suiteSetup();
    const kept = await setup.make("kept", madeFolder, removeFolder);
    await setup.make(
      "broken",
      async () => "x",
      async () => {
        throw new Error("cannot remove");
      },
    );
    await expect(setup.removeAll()).rejects.toThrow("cannot remove");
    expect(existsSync(kept)).toBe(false);
  });
});
