import type { Context } from "hono";
import { ArchiveError } from "../archive/archive-error.ts";
import type { AppEnv } from "./app-env.ts";
import { toProblem } from "./error-mapping.ts";
import { ProblemError, problemResponse } from "./problem.ts";

/** A refused archive is the uploader's doing: 422, at the `file` field, saying what was found. */
export function archiveProblem(error: ArchiveError): ProblemError {
  return new ProblemError("validation_failed", `file: ${error.message}`, {
    errors: [{ path: "file", message: error.message }],
    extensions: { archive_error: error.code },
  });
}

/**
 * Answers a problem met before the request body was read to its end. The answer goes out at
 * once; the rest of the body is read and discarded for a bounded while (see `linger` in
 * upload-body.ts) rather than cut off with `connection: close`: closing a socket with unread
 * bytes resets the connection, and the client would lose the answer.
 * Anything that is no problem is thrown on, to the one error handler.
 */
export function refuseUpload(c: Context<AppEnv>, error: unknown): Response {
  const problem = error instanceof ArchiveError ? archiveProblem(error) : toProblem(error);
  if (problem === undefined) throw error;
  return problemResponse(c, problem);
}
