import { DesiredStateError } from "../desired/errors.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import { ProblemError } from "./problem.ts";

/**
 * Desired-state refusals become problems with the same code (see problemCodes); a database that
 * is restarting or unreachable is a 503 the client may retry, never a 500.
 */
export function toProblem(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (isDatabaseUnavailable(error)) {
    return new ProblemError(
      "unavailable",
      "the database is unavailable right now; try again shortly",
    );
  }
  if (error instanceof DesiredStateError) {
    return new ProblemError(error.code, error.message, {
      ...(error.errors === undefined ? {} : { errors: error.errors }),
      ...(error.extensions === undefined ? {} : { extensions: error.extensions }),
    });
  }
  return undefined;
}
