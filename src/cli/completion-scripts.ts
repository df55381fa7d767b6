import { type CommandEntry, globalFlags } from "./command-table.ts";

/** Commands whose arguments include files (after -f). */
const takesFiles = (entry: CommandEntry) => entry.flags.includes("--filename");

const quoteSingle = (text: string) => text.replace(/'/g, "'\\''");

/** The bash completion script (`source <(orchestrator completion bash)`). Pure. */
export function bashCompletion(table: readonly CommandEntry[]): string {
  const cases = table.map((entry) => {
    const words = [...(entry.words ?? []), ...entry.flags, ...globalFlags].join(" ");
    return `    ${entry.name}) COMPREPLY=( $(compgen -W "${words}" -- "$cur") ) ;;`;
  });
  return `# bash completion for orchestrator: source <(orchestrator completion bash)
_orchestrator() {
  local cur prev
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${table.map((entry) => entry.name).join(" ")} help" -- "$cur") )
    return
  fi
  case "$prev" in
    -f|--filename|--watch) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  case "\${COMP_WORDS[1]}" in
${cases.join("\n")}
  esac
}
complete -o default -F _orchestrator orchestrator
`;
}

/** The zsh completion script (`source <(orchestrator completion zsh)`). Pure. */
export function zshCompletion(table: readonly CommandEntry[]): string {
  const described = table.map(
    (entry) => `    '${entry.name}:${quoteSingle(entry.summary).replace(/:/g, "\\:")}'`,
  );
  const cases = table.map((entry) => {
    const words = [...(entry.words ?? []), ...entry.flags, ...globalFlags].join(" ");
    return `    ${entry.name}) compadd -- ${words}${takesFiles(entry) ? "; _files" : ""} ;;`;
  });
  return `#compdef orchestrator
# zsh completion for orchestrator: source <(orchestrator completion zsh)
_orchestrator() {
  local -a commands
  commands=(
${described.join("\n")}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case $words[2] in
${cases.join("\n")}
  esac
}
if [[ -n \${ZSH_VERSION-} ]]; then
  if (( ! \${+functions[compdef]} )); then autoload -Uz compinit && compinit; fi
  compdef _orchestrator orchestrator
fi
`;
}

/** The fish completion script (`orchestrator completion fish | source`). Pure. */
export function fishCompletion(table: readonly CommandEntry[]): string {
  const flag = (text: string) =>
    text.startsWith("--") ? `-l ${text.slice(2)}` : `-s ${text.slice(1)}`;
  const lines = [
    "# fish completion for orchestrator: orchestrator completion fish | source",
    "complete -c orchestrator -f",
    ...globalFlags.map((name) => `complete -c orchestrator ${flag(name)}`),
  ];
  for (const entry of table) {
    lines.push(
      `complete -c orchestrator -n __fish_use_subcommand -a ${entry.name} -d '${quoteSingle(entry.summary)}'`,
    );
    const when = `-n '__fish_seen_subcommand_from ${entry.name}'`;
    if (entry.words !== undefined && entry.words.length > 0) {
      lines.push(`complete -c orchestrator ${when} -a '${entry.words.join(" ")}'`);
    }
    for (const name of entry.flags) {
      const files = name === "-f" || name === "--filename" ? " -r -F" : "";
      lines.push(`complete -c orchestrator ${when} ${flag(name)}${files}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
