/**
 * The zsh and fish completion scripts of the real binary, loaded into the real shells
 * (Debian's zsh and fish; .ci/run installs them): zsh driven interactively in a pseudo-terminal
 * through its zpty module (zsh-complete.zsh: type a line, press Tab, record the matches), fish
 * through `complete -C`, which asks its completion engine what Tab would offer.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliProcess } from "../gitops/cli-harness.ts";

const run = promisify(execFile);
const inCi = process.env.CI === "true";

async function has(shell: string): Promise<boolean> {
  try {
    await run(shell, ["-c", "exit 0"]);
    return true;
  } catch {
    return false;
  }
}

const shells = { zsh: await has("zsh"), fish: await has("fish") };
for (const [shell, found] of Object.entries(shells)) {
  if (!found && !inCi) {
    console.warn(`[integration] skipping ${shell} completion: apt-get install ${shell}`);
  }
}
const present = (shell: keyof typeof shells) => {
  if (!shells[shell]) throw new Error(`CI=true and ${shell} is missing: apt-get install ${shell}`);
};

describe("shell completion in the real shells", () => {
  let folder: string;
  const script = (shell: string) => join(folder, `orchestrator.${shell}`);
  let dump: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "orchestrator-completion-"));
    for (const shell of ["zsh", "fish"]) {
      const printed = await cliProcess(["completion", shell], {});
      expect(printed.code).toBe(0);
      await writeFile(script(shell), printed.stdout);
    }
    await writeFile(join(folder, "shop.yaml"), "");
    // compinit's dump, kept outside the folder whose files are completed.
    dump = join(await mkdtemp(join(tmpdir(), "orchestrator-zcompdump-")), "zcompdump");
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
    await rm(join(dump, ".."), { recursive: true, force: true });
  });

  describe.runIf(shells.zsh || inCi)("zsh", () => {
    /** What Tab offers after `line` in an interactive zsh that sourced the script. */
    const tab = async (line: string) => {
      present("zsh");
      const { stdout } = await run(
        "zsh",
        [join(import.meta.dirname, "zsh-complete.zsh"), script("zsh"), line, dump],
        { cwd: folder, timeout: 60_000 },
      );
      return stdout.split("\n").filter((match) => match !== "");
    };

    it("completes commands, their words and flags, and files after -f", async () => {
      expect(await tab("orchestrator sc")).toEqual(["scale"]);
      expect(await tab("orchestrator desc")).toEqual(["describe"]);
      expect(await tab("orchestrator get ")).toEqual(
        expect.arrayContaining(["images", "containers", "-o", "--output", "--server"]),
      );
      expect(await tab("orchestrator events --ima")).toEqual(["--image"]);
      expect((await tab("orchestrator export --out")).sort()).toEqual([
        "--output",
        "--output-directory",
      ]);
      expect(await tab(`orchestrator apply -f ${folder}/sh`)).toEqual(["shop.yaml"]);
      expect(await tab("orchestrator nothing-like-it --x")).toEqual([]);
    });

    it("completes rollout's sub-commands and flags", async () => {
      expect(await tab("orchestrator roll")).toEqual(["rollout"]);
      expect(await tab("orchestrator rollout ")).toEqual(
        expect.arrayContaining(["status", "history", "undo", "pause", "resume", "--timeout"]),
      );
      expect(await tab("orchestrator rollout undo --to-r")).toEqual(["--to-revision"]);
    });
  });

  describe.runIf(shells.fish || inCi)("fish", () => {
    /** `complete -C`: what fish's Tab offers after `line`, without descriptions. */
    const tab = async (line: string) => {
      present("fish");
      const { stdout } = await run(
        "fish",
        ["--no-config", "-c", `source ${script("fish")}; complete -C '${line}'`],
        { cwd: folder, timeout: 60_000 },
      );
      return stdout
        .split("\n")
        .filter((match) => match !== "")
        .map((match) => match.split("\t")[0]);
    };

    it("completes commands, their words and flags, and files after -f", async () => {
      expect(await tab("orchestrator sc")).toEqual(["scale"]);
      expect(await tab("orchestrator get ")).toEqual(["containers", "images"]);
      expect(await tab("orchestrator events --ima")).toEqual(["--image"]);
      expect(await tab("orchestrator export --out")).toEqual(["--output", "--output-directory"]);
      expect(await tab("orchestrator apply -f sh")).toEqual(["shop.yaml"]);
      expect(await tab("orchestrator --con")).toEqual(["--context"]);
    });

    it("completes rollout's sub-commands and flags", async () => {
      expect(await tab("orchestrator roll")).toEqual(["rollout"]);
      expect(await tab("orchestrator rollout ")).toEqual([
        "history",
        "pause",
        "resume",
        "status",
        "undo",
      ]);
      expect(await tab("orchestrator rollout undo --to-r")).toEqual(["--to-revision"]);
    });
  });
});
