import type { Context } from "hono";
import { ArchiveError } from "../archive/archive-error.ts";
import { toProblem } from "./desired-errors.ts";
import type { AppEnv } from "./env.ts";
import { ProblemError, problemResponse } from "./problem.ts";

/** A refused archive is the uploader's doing: 422, at the `file` field, saying what was found. */
export function archiveProblem(error: ArchiveError): ProblemError {
  return new ProblemError("validation_failed", `file: ${error.message}`, {
    errors: [{ path: "file", message: error.message }],
    extensions: { archive_error: error.code },
  });
}

/**
 * Answers a problem met before the request body was read to its end with `connection: close`,
 * so the client stops sending the rest instead of the server reading it for nothing.
 * Anything that is no problem is thrown on, to the one error handler.
 */
export function refuseUpload(c: Context<AppEnv>, error: unknown, bodyRead: boolean): Response {
  const problem = error instanceof ArchiveError ? archiveProblem(error) : toProblem(error);
  if (problem === undefined) throw error;
  const response = problemResponse(c, problem);
  if (!bodyRead) response.headers.set("connection", "close");
  return response;
}
