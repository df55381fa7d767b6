import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { commandTable } from "./command-table.ts";
import { bashCompletion, fishCompletion, zshCompletion } from "./completion-scripts.ts";

/** What bash completes for these words (the script run by a real bash). */
function bashCompletes(words: readonly string[]): string[] {
  const script = `${bashCompletion(commandTable)}
COMP_WORDS=(${words.map((word) => `'${word}'`).join(" ")}); COMP_CWORD=${words.length - 1}
_orchestrator; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync("bash", ["-c", script], { encoding: "utf8" }).split("\n").filter(Boolean);
}

describe("bash completion", () => {
  it("completes command names, then a command's kinds and flags", () => {
    expect(bashCompletes(["orchestrator", "de"]).sort()).toEqual(["delete", "describe"]);
    expect(bashCompletes(["orchestrator", "describe", ""])).toEqual(
      expect.arrayContaining(["image", "container", "--server"]),
    );
    expect(bashCompletes(["orchestrator", "logs", "--f"])).toEqual(["--follow"]);
    expect(bashCompletes(["orchestrator", "completion", "z"])).toEqual(["zsh"]);
    expect(bashCompletes(["orchestrator", "roll"])).toEqual(["rollout"]);
    expect(bashCompletes(["orchestrator", "rollout", ""])).toEqual(
      expect.arrayContaining(["status", "history", "undo", "pause", "resume", "--to-revision"]),
    );
  });
});

describe("zsh and fish completion", () => {
  it("names every command with its summary", () => {
    const zsh = zshCompletion(commandTable);
    const fish = fishCompletion(commandTable);
    for (const entry of commandTable) {
      expect(zsh).toContain(`    '${entry.name}:`);
      expect(fish).toContain(`-n __fish_use_subcommand -a ${entry.name} -d`);
    }
    expect(zsh).toContain("apply) compadd -- -f --filename");
    expect(fish).toContain("complete -c orchestrator -n '__fish_seen_subcommand_from logs' -s f");
    expect(fish).toContain("-n '__fish_seen_subcommand_from get' -a 'images containers'");
  });
});
