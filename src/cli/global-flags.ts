import { CliError } from "./cli-error.ts";

/** Flags every client command takes, wherever they stand on the line (like kubectl's). */
export type GlobalFlags = {
  /** `--server URL`: the API to talk to (wins over ORCHESTRATOR_URL and the context). */
  readonly server?: string;
  /** `--token TOKEN`: the bearer token (wins over ORCHESTRATOR_TOKEN and the context). */
  readonly token?: string;
  /** `--context NAME`: a saved context other than the current one. */
  readonly context?: string;
};

const names = ["server", "token", "context"] as const;

/**
 * Takes `--server`, `--token` and `--context` (as `--flag value` or `--flag=value`) out of the
 * arguments, up to a `--`; the rest goes to the command. Pure.
 */
export function splitGlobalFlags(argv: readonly string[]): {
  readonly flags: GlobalFlags;
  readonly rest: readonly string[];
} {
  const flags: { -readonly [Name in keyof GlobalFlags]: string } = {};
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index] ?? "";
    if (argument === "--") {
      rest.push(...argv.slice(index));
      break;
    }
    const name = names.find(
      (candidate) => argument === `--${candidate}` || argument.startsWith(`--${candidate}=`),
    );
    if (name === undefined) {
      rest.push(argument);
      continue;
    }
    let value: string | undefined;
    if (argument.includes("=")) value = argument.slice(argument.indexOf("=") + 1);
    else {
      value = argv[index + 1];
      index += 1;
    }
    if (value === undefined || value === "") throw new CliError(`--${name} needs a value`);
    if (flags[name] !== undefined) throw new CliError(`--${name} given twice`);
    flags[name] = value;
  }
  return { flags, rest };
}
