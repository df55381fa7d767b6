import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes, routePath } from "hono/route";
import { problemSchema } from "../schemas/problem-schemas.ts";
import { fieldPath } from "../validation.ts";
import { docOf, mergeDocs, openApiPath } from "./route-doc.ts";

/** An answer that differs from what its route documents. */
export type ContractViolation = {
  readonly route: string;
  readonly status: number;
  readonly problem: string;
  readonly body?: unknown;
};

/**
 * The documentation of the route that answered (merged when several handlers serve it). After
 * the chain ran, `routePath` names the last handler dispatched: the one that answered, not a
 * later match (`/api/images/:id` also matches `/api/images/with-containers`).
 */
function answeringDoc(c: Context) {
  const path = routePath(c);
  const routes = matchedRoutes(c).filter((route) => route.method !== "ALL" && route.path === path);
  if (routes.length === 0) return undefined;
  const doc = mergeDocs(routes.flatMap((route) => docOf(route.handler) ?? []));
  return { route: `${c.req.method} ${openApiPath(path)}`, doc };
}

/**
 * Compares every answer with its route's documentation: the status must be documented (or an
 * error), and a JSON body must match its schema (objects are strict: an undocumented field is
 * a difference too). Used by the test servers, so that every integration suite checks the
 * document against real answers; production never pays for it.
 */
export function checkResponses(report: (violation: ContractViolation) => void): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const answering = answeringDoc(c);
    if (answering === undefined) return;
    const { route, doc } = answering;
    const status = c.res.status;
    if (doc === undefined) {
      report({ route, status, problem: "the route is not documented" });
      return;
    }
    const documentedAnswer = doc.responses[status];
    const isError = status >= 400;
    if (documentedAnswer === undefined && !isError) {
      report({ route, status, problem: `status ${status} is not documented` });
      return;
    }
    const contentType = c.res.headers.get("content-type") ?? "";
    if (!/json/.test(contentType)) return;
    // A documented answer (503 of /readyz) has its own body; other refusals are problems.
    const schema = documentedAnswer !== undefined ? documentedAnswer.body : problemSchema;
    if (schema === undefined) {
      report({ route, status, problem: "a JSON body where none is documented" });
      return;
    }
    const body: unknown = await c.res.clone().json();
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      report({
        route,
        status,
        problem: parsed.error.issues
          .map((issue) => `${fieldPath(issue.path) || "body"}: ${issue.message}`)
          .join("; "),
        body,
      });
    }
  };
}
