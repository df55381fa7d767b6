import { OrchestratorError } from "../client/index.ts";

/**
 * The exit statuses of `orchestrator`, like kubectl's: 0 done; 1 the request failed (not found,
 * refused by the server, server unreachable, a wait that failed or timed out; `diff`: there are
 * changes); 2 the command line or the desired-state files are wrong (`diff`: any error).
 */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/** An error the CLI prints as `orchestrator: message` and exits with. Usage errors by default. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode: number = exitCodes.usage) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** A refusal of the API (or no answer) as the CLI reports it: exit 1 with one line. Pure. */
export function cliErrorOf(error: OrchestratorError): CliError {
  if (error.code === "unreachable") return new CliError(error.message, exitCodes.failed);
  const fields = (error.problem?.errors ?? [])
    .map((field) => (field.path === undefined ? field.message : `${field.path}: ${field.message}`))
    .join("; ");
  return new CliError(
    `${error.message}${fields === "" ? "" : ` (${fields})`} [${error.status} ${error.code}]`,
    exitCodes.failed,
  );
}

export { OrchestratorError };
