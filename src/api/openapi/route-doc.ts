import type { MiddlewareHandler } from "hono";
import type { z } from "zod";

/** One documented answer of a route: a JSON body (by its schema), or another media type. */
export type ResponseDoc = {
  readonly description: string;
  /** The JSON body; omitted for a response without one (204) or of another media type. */
  readonly body?: z.ZodType;
  /** `application/json` when a body is given; streams and text name theirs. */
  readonly media?: "application/json" | "text/event-stream" | "text/plain" | "text/html";
};

/**
 * What a route takes and answers, by the same zod schemas that validate it: the OpenAPI
 * document (`openapi-document.ts`) is made of these, and the response check compares real
 * answers with them. Errors are problem+json at any 4xx/5xx; only successes are listed here.
 */
export type RouteDoc = {
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** Path parameters by name (`:id` in the route), each a schema of the string it takes. */
  readonly params?: Readonly<Record<string, z.ZodType>>;
  /** The query string: an object schema whose fields are the parameters. */
  readonly query?: z.ZodObject;
  /** A JSON body. */
  readonly body?: z.ZodType;
  /** A multipart/form-data body (its fields as an object schema). */
  readonly multipart?: z.ZodType;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Served without a token (probes, the document itself). */
  readonly public?: boolean;
  /** Request headers the route reads (e.g. `Last-Event-ID`). */
  readonly headers?: Readonly<Record<string, string>>;
};

const docKey = Symbol.for("orchestrator.route-doc");
/** Where hono keeps a mounted sub-app's own handler (`app.route()` may wrap it). */
const composedHandler = "__COMPOSED_HANDLER";

/**
 * A pass-through middleware that carries a route's documentation:
 * `app.get("/:id", documented({...}), handler)`. Hono's route table then holds it, so the
 * document is read from the app that serves the requests and cannot miss a mounted route.
 */
export function documented(doc: RouteDoc): MiddlewareHandler {
  const carrier: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  Object.defineProperty(carrier, docKey, { value: doc });
  return carrier;
}

/** The documentation a route-table handler carries, if any. */
export function docOf(handler: unknown): RouteDoc | undefined {
  if (typeof handler !== "function") return undefined;
  const own = (handler as unknown as Record<symbol, RouteDoc | undefined>)[docKey];
  if (own !== undefined) return own;
  const inner = (handler as unknown as Record<string, unknown>)[composedHandler];
  return inner === undefined || inner === handler ? undefined : docOf(inner);
}

/** Several handlers may serve one method and path (multipart and JSON uploads): one doc. */
export function mergeDocs(docs: readonly RouteDoc[]): RouteDoc | undefined {
  const [first, ...rest] = docs;
  if (first === undefined) return undefined;
  let merged: RouteDoc = first;
  for (const doc of rest) {
    merged = {
      ...merged,
      description: [merged.description, doc.description].filter(Boolean).join("\n\n"),
      params: { ...merged.params, ...doc.params },
      ...((merged.body ?? doc.body) ? { body: merged.body ?? doc.body } : {}),
      ...((merged.multipart ?? doc.multipart)
        ? { multipart: merged.multipart ?? doc.multipart }
        : {}),
      ...((merged.query ?? doc.query) ? { query: merged.query ?? doc.query } : {}),
      responses: { ...doc.responses, ...merged.responses },
    };
  }
  return merged;
}

/** `/api/images/:id` → `/api/images/{id}` (OpenAPI's templates). */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
}
