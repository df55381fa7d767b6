import { DesiredStateError } from "../desired/errors.ts";
import { ProblemError } from "./problem.ts";

/** Desired-state refusals become problems with the same code (see problemCodes). */
export function toProblem(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (error instanceof DesiredStateError) {
    return new ProblemError(error.code, error.message, {
      ...(error.errors === undefined ? {} : { errors: error.errors }),
      ...(error.extensions === undefined ? {} : { extensions: error.extensions }),
    });
  }
  return undefined;
}
