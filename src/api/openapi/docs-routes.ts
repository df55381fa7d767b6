import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env.ts";
import { notFound } from "../problem.ts";
import { openApiDocument, type TableRoute } from "./openapi-document.ts";
import { documented } from "./route-doc.ts";

/** The version of the HTTP contract (not of the package): bumped when a route changes shape. */
export const apiVersion = "1.0.0";

/** The viewer's files, from the swagger-ui-dist package: served here, never from a CDN. */
const viewerAssets: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "docs.js": "text/javascript; charset=utf-8",
};

const viewerFolder = () =>
  path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

const viewerPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orchestrator API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="viewer"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/docs.js"></script>
</body>
</html>
`;

/** Starts the viewer on the document (a file of its own: no inline script for a strict CSP). */
const viewerStart = `window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#viewer",
  deepLinking: true,
  persistAuthorization: true,
});
`;

/**
 * `GET /api/openapi.json` (the OpenAPI 3.1 document, made from the route table of the app
 * serving it, so no route can be missing) and `/docs` (Swagger UI on it). Both are public: the
 * shape of the API is no secret, and every call the viewer makes needs a token.
 */
export function docsRoutes(routes: () => readonly TableRoute[]) {
  const app = new Hono<AppEnv>();
  let document: Record<string, unknown> | undefined;
  const cached: Map<string, Buffer> = new Map();

  app.get(
    "/api/openapi.json",
    documented({
      summary: "This document (OpenAPI 3.1)",
      tags: ["docs"],
      public: true,
      responses: {
        200: { description: "The OpenAPI document", body: z.record(z.string(), z.unknown()) },
      },
    }),
    (c) => {
      document ??= openApiDocument(routes(), { title: "Orchestrator", version: apiVersion });
      return c.json(document);
    },
  );

  app.get(
    "/docs",
    documented({
      summary: "The API browser (Swagger UI, served locally)",
      tags: ["docs"],
      public: true,
      responses: { 200: { description: "The viewer's page", media: "text/html" } },
    }),
    (c) => c.html(viewerPage),
  );

  app.get(
    "/docs/:asset",
    documented({
      summary: "The viewer's scripts and styles",
      tags: ["docs"],
      public: true,
      params: { asset: z.enum(Object.keys(viewerAssets) as [string, ...string[]]) },
      responses: { 200: { description: "The file", media: "text/plain" } },
    }),
    async (c) => {
      const asset = c.req.param("asset");
      const type = viewerAssets[asset];
      if (type === undefined) throw notFound(`docs asset ${asset}`);
      let data = cached.get(asset);
      if (data === undefined) {
        data =
          asset === "docs.js"
            ? Buffer.from(viewerStart)
            : await readFile(path.join(viewerFolder(), asset));
        cached.set(asset, data);
      }
      return c.body(new Uint8Array(data), 200, {
        "content-type": type,
        "cache-control": "public, max-age=3600",
      });
    },
  );

  return app;
}
