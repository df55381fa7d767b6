import { AccountError } from "../accounts/account-error.ts";
import { DesiredStateError } from "../desired/errors.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import { ProblemError } from "./problem.ts";

/**
 * Service refusals become problems with the same code (see problemCodes); a database that
 * cannot be reached is 503, so that clients retry rather than report a bug.
 */
export function toProblem(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (error instanceof DesiredStateError) {
    return new ProblemError(error.code, error.message, {
      ...(error.errors === undefined ? {} : { errors: error.errors }),
      ...(error.extensions === undefined ? {} : { extensions: error.extensions }),
    });
  }
  if (error instanceof AccountError) {
    return new ProblemError(error.code, error.message, {
      ...(error.field === undefined
        ? {}
        : { errors: [{ path: error.field, message: error.message }] }),
    });
  }
  if (isDatabaseUnavailable(error)) {
    return new ProblemError(
      "unavailable",
      "the database cannot be reached right now; retry in a moment",
    );
  }
  return undefined;
}
