import type { Context } from "hono";
import type { z } from "zod";
import { positiveId } from "../domain/ids.ts";
import { findNul, nulMessage } from "../domain/nul.ts";
import { type FieldError, ProblemError, validationProblem } from "./problem.ts";

/** `min_instances`, `env.LOG_LEVEL`, `items[2].name`: the way a client names a field. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path
    .map((segment, index) =>
      typeof segment === "number" ? `[${segment}]` : `${index === 0 ? "" : "."}${String(segment)}`,
    )
    .join("");
}

/** One entry per problem; an unknown key is reported at its own path as "unknown field". */
export function zodFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({
          path: fieldPath([...issue.path, key]),
          message: "unknown field",
        }))
      : issue.code === "invalid_key"
        ? [{ path: fieldPath(issue.path), message: issue.issues[0]?.message ?? issue.message }]
        : [{ path: fieldPath(issue.path), message: issue.message }],
  );
}

export function parseWith<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationProblem(zodFieldErrors(parsed.error));
  return parsed.data;
}

/** Refuses input holding the NUL character, naming each place (Postgres stores none). */
export function refuseNul(value: unknown, prefix: readonly (string | number)[] = []): void {
  const found = findNul(value);
  if (found.length === 0) return;
  throw validationProblem(
    found.map((finding) => ({
      path: fieldPath([...prefix, ...finding.path]),
      message: finding.inKey ? `the name ${nulMessage}` : nulMessage,
    })),
  );
}

/** Parses JSON text (refusing NUL characters anywhere in it), or answers 400. */
export function parseJsonText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProblemError("invalid_json", `body is not valid JSON: ${(error as Error).message}`);
  }
  refuseNul(value);
  return value;
}

/** Reads a JSON body and validates it; any failure is a problem with the field path. */
export async function jsonBody<Schema extends z.ZodType>(
  c: Context,
  schema: Schema,
): Promise<z.output<Schema>> {
  const contentType = c.req.header("content-type") ?? "";
  if (!/^application\/([a-z.+-]*\+)?json\b/i.test(contentType)) {
    throw new ProblemError("unsupported_media_type", "send the body as application/json");
  }
  return parseWith(schema, parseJsonText(await c.req.text()));
}

/** Validates the query string against a schema of strings. */
export function queryParams<Schema extends z.ZodType>(
  c: Context,
  schema: Schema,
): z.output<Schema> {
  return parseWith(schema, c.req.query());
}

/** Validates a path parameter as a positive integer id. */
export function idParam(c: Context, name: string): number {
  const id = positiveId(c.req.param(name) ?? "");
  if (id === undefined) {
    throw validationProblem([{ path: name, message: "must be a positive integer id" }]);
  }
  return id;
}

/** Validates a path parameter as an instance (container) id. */
export function instanceIdParam(c: Context, name: string): string {
  const raw = c.req.param(name);
  if (raw === undefined || !/^[0-9a-z]{1,64}$/.test(raw)) {
    throw validationProblem([{ path: name, message: "must be a container (instance) id" }]);
  }
  return raw;
}
