import { parseDuration } from "../domain/duration.ts";
import { type FileError, formatFileError } from "../gitops/file-error.ts";
import { CliError, type ClientSettings } from "./client.ts";

/** What a command needs from the outside world: the server, output lines, an interrupt. */
export type CommandIo = {
  readonly settings: () => Promise<ClientSettings>;
  /** A line on standard output. */
  readonly out: (line: string) => void;
  /** A line on standard error. */
  readonly err: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM (watch and wait end with it). */
  readonly signal: AbortSignal;
};

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
