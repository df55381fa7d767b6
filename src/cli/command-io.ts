import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import type { Orchestrator } from "../client/index.ts";
import { parseDuration } from "../domain/duration.ts";
import { type FileError, formatFileError } from "../gitops/file-error.ts";
import { CliError, type ClientSettings } from "./client.ts";
import type { Terminal } from "./terminal.ts";

/** What a command needs from the outside world: the server, output lines, an interrupt. */
export type CommandIo = {
  readonly settings: () => Promise<ClientSettings>;
  /** A line on standard output. */
  readonly out: (line: string) => void;
  /** A line on standard error. */
  readonly err: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM (watch and wait end with it). */
  readonly signal: AbortSignal;
  /** The typed client for these settings (the CLI's only way to the API). */
  readonly client: () => Promise<Orchestrator>;
  /** Whether standard output is a terminal, and wants colour. */
  readonly terminal: Terminal;
  /** Raw text on standard output (progress redrawn in place on a terminal). */
  readonly write: (text: string) => void;
  /** The environment the command runs in (XDG_CONFIG_HOME for contexts). */
  readonly environment: NodeJS.ProcessEnv;
};

/** `--since 10m` (a duration back from now) or an RFC 3339 time. */
export function parseSince(value: string | undefined, now: Date): Date | undefined {
  if (value === undefined) return undefined;
  const duration = parseDuration(value, { minMs: 1_000, maxMs: 86_400_000 * 30 });
  if (duration.ok) return new Date(now.getTime() - duration.value);
  const time = Date.parse(value);
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(time)) return new Date(time);
  throw new CliError(`--since ${value}: must be a duration like 10m or 2h, or an RFC 3339 time`);
}

/** `-o` of the commands that print JSON: table (default) or json. */
export function parseOutput(value: string | undefined): "table" | "json" {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw new CliError(`-o ${value}: must be table or json`);
}

/** Prints every file error, one line each, then says that nothing was applied. */
export function printFileErrors(
  errors: readonly FileError[],
  err: (line: string) => void,
  what = "nothing was applied",
): void {
  for (const error of errors) err(formatFileError(error));
  err(
    `${errors.length} ${errors.length === 1 ? "error" : "errors"} in desired-state files; ${what}`,
  );
}

/** `--timeout 5m`: a duration between 1 s and 24 h. */
export function parseTimeout(value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const parsed = parseDuration(value, { minMs: 1_000, maxMs: 86_400_000 });
  if (!parsed.ok) throw new CliError(`--timeout ${value}: ${parsed.message}`);
  return parsed.value;
}

/** The `-f` paths of a command; at least one. */
export function requirePaths(paths: readonly string[] | undefined): readonly string[] {
  if (paths === undefined || paths.length === 0) {
    throw new CliError("-f FILE_OR_FOLDER is required (see --help)");
  }
  return paths;
}

export const defaultWaitTimeoutMs = 5 * 60_000;

const helpOption = { help: { type: "boolean", short: "h" } } as const;

type CommandConfig<Options extends ParseArgsOptionsConfig> = {
  args: string[];
  options: Options & typeof helpOption;
  allowPositionals: true;
};

/**
 * A command's arguments (positionals allowed) with `-h/--help` added: undefined once the help
 * was printed, so that the command only returns 0.
 */
export function parseCommand<const Options extends ParseArgsOptionsConfig>(
  args: readonly string[],
  options: Options,
  help: string,
  io: Pick<CommandIo, "out">,
): ReturnType<typeof parseArgs<CommandConfig<Options>>> | undefined {
  const config: CommandConfig<Options> = {
    args: [...args],
    options: { ...options, ...helpOption },
    allowPositionals: true,
  };
  const parsed = parseArgs(config);
  if ((parsed.values as { help?: boolean }).help) {
    io.out(help);
    return undefined;
  }
  return parsed;
}
