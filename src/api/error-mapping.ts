import { AccountError } from "../accounts/account-error.ts";
import { DesiredStateError } from "../desired/errors.ts";
import { isDatabaseUnavailable, isWriteConflict } from "../store/unavailable.ts";
import { ProblemError } from "./problem.ts";

/**
 * Service refusals become problems with the same code (see problemCodes); a database that
 * cannot be reached is 503, so that clients retry rather than report a bug; a transaction that
 * lost to a concurrent one (a deadlock) is 409, changing nothing.
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
  if (error instanceof AccountError) {
    return new ProblemError(error.code, error.message, {
      ...(error.field === undefined
        ? {}
        : { errors: [{ path: error.field, message: error.message }] }),
    });
  }
  if (isWriteConflict(error)) {
    return new ProblemError(
      "conflict",
      "the change collided with a concurrent one and was not made; send it again",
    );
  }
  return undefined;
}
