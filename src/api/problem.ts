import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error code the API answers with, and its HTTP status. One table, one place. */
export const problemCodes = {
  invalid_json: { status: 400, title: "Request body is not valid JSON" },
  bad_request: { status: 400, title: "Bad request" },
  unauthorized: { status: 401, title: "Missing or invalid bearer token" },
  forbidden: { status: 403, title: "Not allowed for this token" },
  not_found: { status: 404, title: "Not found" },
  image_not_found: { status: 404, title: "Image not found" },
  revision_not_found: { status: 404, title: "Revision not found" },
  revision_image_gone: { status: 409, title: "The revision's image is no longer kept" },
  image_not_allowed: { status: 403, title: "Image not allowed for this user" },
  conflict: { status: 409, title: "Conflict" },
  name_taken: { status: 409, title: "Name already in use" },
  port_in_use: { status: 409, title: "Host port already taken" },
  hostname_taken: { status: 409, title: "app_hostname already taken" },
  volume_in_use: { status: 409, title: "Volume in use" },
  secret_in_use: { status: 409, title: "Secret still used by an image" },
  max_instances_exceeded: { status: 409, title: "Would exceed max_instances" },
  min_instances_violated: { status: 409, title: "Would go below min_instances" },
  stale_resource_version: { status: 409, title: "Resource was changed by someone else" },
  autoscaler_owns_desired_instances: {
    status: 409,
    title: "The autoscaler sets desired_instances of this image",
  },
  quota_exceeded: { status: 403, title: "Would exceed a quota" },
  payload_too_large: { status: 413, title: "Payload too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  validation_failed: { status: 422, title: "Request failed validation" },
  rate_limited: { status: 429, title: "Too many requests" },
  too_many_uploads: { status: 429, title: "Too many uploads at once" },
  internal: { status: 500, title: "Internal server error" },
  unavailable: { status: 503, title: "Service unavailable" },
  pool_exhausted: { status: 503, title: "No pooled instance free yet" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemCode = keyof typeof problemCodes;

export type FieldError = { readonly path: string; readonly message: string };

/** Thrown anywhere below a route; turned into an RFC 9457 response in one place. */
export class ProblemError extends Error {
  override name = "ProblemError";
  readonly code: ProblemCode;
  readonly errors: readonly FieldError[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ProblemCode,
    detail: string,
    options: {
      errors?: readonly FieldError[];
      extensions?: Readonly<Record<string, unknown>>;
    } = {},
  ) {
    super(detail);
    this.code = code;
    this.errors = options.errors;
    this.extensions = options.extensions;
  }

  get status(): ContentfulStatusCode {
    return problemCodes[this.code].status;
  }
}

export function notFound(what: string): ProblemError {
  return new ProblemError("not_found", `${what} not found`);
}

export function validationProblem(errors: readonly FieldError[]): ProblemError {
  const detail = errors.map((error) => `${error.path || "body"}: ${error.message}`).join("; ");
  return new ProblemError("validation_failed", detail, { errors });
}

export function problemResponse(c: Context, problem: ProblemError): Response {
  const body = {
    type: `urn:orchestrator:problem:${problem.code}`,
    title: problemCodes[problem.code].title,
    status: problem.status,
    detail: problem.message,
    instance: c.req.path,
    code: problem.code,
    ...(problem.errors === undefined ? {} : { errors: problem.errors }),
    ...problem.extensions,
    request_id: c.get("requestId" as never) as string | undefined,
  };
  return c.body(JSON.stringify(body), problem.status, {
    "content-type": "application/problem+json",
  });
}
