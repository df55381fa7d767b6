import { z } from "zod";
import { metricsSampleSchema } from "../schemas/event-schemas.ts";
import { problemSchema } from "../schemas/problem-schemas.ts";
import { docOf, mergeDocs, openApiPath, type RouteDoc } from "./route-doc.ts";

/** A route of hono's table: what `app.routes` lists. */
export type TableRoute = {
  readonly method: string;
  readonly path: string;
  readonly handler: unknown;
};

type JsonObject = Record<string, unknown>;

/**
 * A schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), in its input form: what a client
 * may send, and, for answers, what it receives (answers carry no transforms, and the spec
 * fields they echo are valid input).
 */
export function jsonSchemaOf(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  }) as JsonObject;
  return rest;
}

/** Each documented method and path once, with the docs of every handler that serves it. */
export function documentedRoutes(routes: readonly TableRoute[]): Map<string, RouteDoc> {
  const grouped = new Map<string, RouteDoc[]>();
  for (const route of routes) {
    if (route.method === "ALL") continue;
    const doc = docOf(route.handler);
    const key = `${route.method} ${route.path}`;
    const docs = grouped.get(key) ?? [];
    if (doc !== undefined) docs.push(doc);
    grouped.set(key, docs);
  }
  const merged = new Map<string, RouteDoc>();
  for (const [key, docs] of grouped) {
    const doc = mergeDocs(docs);
    if (doc !== undefined) merged.set(key, doc);
  }
  return merged;
}

/** Methods and paths the app serves without documentation (the coverage test wants none). */
export function undocumentedRoutes(routes: readonly TableRoute[]): string[] {
  const documentedKeys = documentedRoutes(routes);
  return [
    ...new Set(
      routes
        .filter((route) => route.method !== "ALL")
        .map((route) => `${route.method} ${route.path}`)
        .filter((key) => !documentedKeys.has(key)),
    ),
  ];
}

function parameters(doc: RouteDoc, path: string): JsonObject[] {
  const inPath = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] as string);
  const pathParameters = inPath.map((name) => {
    const schema = doc.params?.[name];
    return {
      name,
      in: "path",
      required: true,
      schema: schema === undefined ? { type: "string" } : jsonSchemaOf(schema),
      ...(schema?.description === undefined ? {} : { description: schema.description }),
    };
  });
  const queryParameters = Object.entries(doc.query?.shape ?? {}).map(([name, field]) => {
    const schema = field as z.ZodType;
    return {
      name,
      in: "query",
      required: !schema.safeParse(undefined).success,
      schema: jsonSchemaOf(schema),
      ...(schema.description === undefined ? {} : { description: schema.description }),
    };
  });
  const headerParameters = Object.entries(doc.headers ?? {}).map(([name, description]) => ({
    name,
    in: "header",
    required: false,
    schema: { type: "string" },
    description,
  }));
  return [...pathParameters, ...queryParameters, ...headerParameters];
}

function requestBody(doc: RouteDoc): JsonObject | undefined {
  const content: JsonObject = {};
  if (doc.body !== undefined) content["application/json"] = { schema: jsonSchemaOf(doc.body) };
  if (doc.multipart !== undefined) {
    content["multipart/form-data"] = { schema: jsonSchemaOf(doc.multipart) };
  }
  return Object.keys(content).length === 0 ? undefined : { required: true, content };
}

const problemResponse = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

function operation(method: string, path: string, doc: RouteDoc): JsonObject {
  const responses: JsonObject = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    const media = response.media ?? (response.body === undefined ? undefined : "application/json");
    responses[status] = {
      description: response.description,
      ...(media === undefined
        ? {}
        : {
            content: {
              [media]: {
                schema:
                  response.body === undefined ? { type: "string" } : jsonSchemaOf(response.body),
              },
            },
          }),
    };
  }
  responses["4XX"] = problemResponse("The request was refused (RFC 9457 problem details)");
  responses["5XX"] = problemResponse("The service failed or is unavailable");
  const body = requestBody(doc);
  const parameterList = parameters(doc, path);
  return {
    operationId: operationId(method, path),
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [...doc.tags],
    ...(parameterList.length === 0 ? {} : { parameters: parameterList }),
    ...(body === undefined ? {} : { requestBody: body }),
    responses,
    ...(doc.public ? { security: [] } : {}),
  };
}

/** `GET /api/images/{id}/build-logs` → `getImagesIdBuildLogs`: unique, stable, readable. */
export function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((word) => word.length > 0 && word !== "api");
  return [method.toLowerCase(), ...words.map((word) => word[0]?.toUpperCase() + word.slice(1))]
    .join("")
    .replace(/^(get|post|put|patch|delete)$/, "$1Root");
}

export type OpenApiInfo = { readonly title: string; readonly version: string };

/** The OpenAPI 3.1 document of an app, made from the docs its route table carries. */
export function openApiDocument(routes: readonly TableRoute[], info: OpenApiInfo): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const [key, doc] of documentedRoutes(routes)) {
    const [method = "", honoPath = ""] = key.split(" ");
    const path = openApiPath(honoPath);
    paths[path] = { ...paths[path], [method.toLowerCase()]: operation(method, path, doc) };
  }
  const sortedPaths = Object.fromEntries(
    Object.entries(paths).sort(([left], [right]) => left.localeCompare(right)),
  );
  return {
    openapi: "3.1.0",
    info: {
      title: info.title,
      version: info.version,
      description:
        "A Kubernetes-style reconciling controller for Docker. Every /api route needs " +
        "`Authorization: Bearer <token>`; errors are RFC 9457 problem details with a `code`.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    tags: [...new Set([...documentedRoutes(routes).values()].flatMap((doc) => doc.tags))]
      .sort()
      .map((name) => ({ name })),
    paths: sortedPaths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Problem: jsonSchemaOf(problemSchema),
        // The stream's resource samples (`GET /api/events?follow=1&metrics=1`).
        MetricsSample: jsonSchemaOf(metricsSampleSchema),
      },
    },
  };
}
