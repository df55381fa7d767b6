import { CliError } from "./cli-error.ts";
import { type CommandIo, parseCommand } from "./command-io.ts";
import { commandTable } from "./command-table.ts";
import { bashCompletion, fishCompletion, zshCompletion } from "./completion-scripts.ts";

export const completionHelp = `Usage: orchestrator completion bash|zsh|fish

Prints a shell completion script for commands, kinds and flags (files after -f).

  bash   source <(orchestrator completion bash)      (or save it under
         ~/.local/share/bash-completion/completions/orchestrator)
  zsh    source <(orchestrator completion zsh)       (in ~/.zshrc)
  fish   orchestrator completion fish | source       (or save it as
         ~/.config/fish/completions/orchestrator.fish)

Options:
  -h, --help   show this help`;

const scripts = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

export async function completionCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(args, {}, completionHelp, io);
  if (parsed === undefined) return 0;
  const { positionals } = parsed;
  const shell = positionals[0];
  if (positionals.length !== 1 || shell === undefined || !Object.hasOwn(scripts, shell)) {
    throw new CliError("completion needs a shell: bash, zsh or fish (see --help)");
  }
  io.write(scripts[shell as keyof typeof scripts](commandTable));
  return 0;
}
