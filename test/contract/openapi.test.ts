/**
 * The OpenAPI document: valid OpenAPI 3.1 for a real validator, and complete (every route the
 * running app serves is in it, and nothing else). That answers match it is checked by every
 * integration suite: the test servers compare each answer with its route's documentation and
 * fail the suite on a difference (test/support/test-server.ts).
 */
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { undocumentedRoutes } from "../../src/api/openapi/openapi-document.ts";
import { openApiPath } from "../../src/api/openapi/route-doc.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

describe("the OpenAPI document", () => {
  let server: TestServer;
  let document: any;
  beforeAll(async () => {
    server = await startTestServer();
    const response = await fetch(`${server.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    document = await response.json();
  });
  afterAll(() => server?.stop());

  it("is valid OpenAPI 3.1 (swagger-parser validates it, $refs resolved)", async () => {
    expect(document.openapi).toBe("3.1.0");
    const validated = await SwaggerParser.validate(structuredClone(document));
    expect(Object.keys(validated.paths ?? {}).length).toBeGreaterThanOrEqual(30);
  });

  it("documents every route the app serves, and no route it does not", () => {
    const routes = server.service.app.routes.filter((route) => route.method !== "ALL");
    expect(undocumentedRoutes(server.service.app.routes)).toEqual([]);
    const served = new Set(
      routes.map((route) => `${route.method.toLowerCase()} ${openApiPath(route.path)}`),
    );
    const inDocument = Object.entries(document.paths as Record<string, object>).flatMap(
      ([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`),
    );
    expect(new Set(inDocument)).toEqual(served);
    for (const key of [
      "get /api/containers",
      "post /api/containers/{id}",
      "get /api/images/{id}/build-logs",
      "get /api/openapi.json",
      "get /healthz",
    ]) {
      expect(served.has(key), key).toBe(true);
    }
  });

  it("gives every operation a unique id, a summary, its path's parameters, and problem+json for errors", () => {
    const ids = new Set<string>();
    for (const [path, operations] of Object.entries(document.paths as Record<string, any>)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      for (const operation of Object.values(operations as Record<string, any>)) {
        // swagger-parser does not check this for 3.1: every template has its path parameter.
        const inPath = (operation.parameters ?? [])
          .filter((parameter: any) => parameter.in === "path")
          .map((parameter: any) => parameter.name);
        expect(inPath, `${path} ${operation.operationId}`).toEqual(templated);
        expect(ids.has(operation.operationId), operation.operationId).toBe(false);
        ids.add(operation.operationId);
        expect(operation.summary.length).toBeGreaterThan(0);
        expect(operation.responses["4XX"].content["application/problem+json"]).toBeDefined();
      }
    }
  });

  it("describes the request schemas that validate the routes", () => {
    const patch = document.paths["/api/images/{id}"].patch;
    const body = patch.requestBody.content["application/json"].schema;
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining([
        "desired_instances",
        "cpu_limit",
        "resource_version",
        "depends_on",
        "placement",
      ]),
    );
    const placement = body.properties.placement;
    expect(Object.keys(placement.properties).sort()).toEqual(["constraints", "spread"]);
    expect(placement.properties.constraints.type).toBe("array");
    const events = document.paths["/api/events"].get;
    expect(events.parameters.map((parameter: any) => parameter.name)).toEqual(
      expect.arrayContaining(["image_id", "type", "after", "follow", "Last-Event-ID"]),
    );
    // The event types of the contract, wherever the document lists them (the log's `type`,
    // the `type` filter): the router drains on `container.draining`.
    const typeLists: string[][] = [];
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) {
        if (node.includes("container.started")) typeLists.push(node);
        for (const item of node) collect(item);
      } else if (node !== null && typeof node === "object") {
        for (const value of Object.values(node)) collect(value);
      }
    };
    collect(document);
    expect(typeLists.length).toBeGreaterThan(0);
    for (const types of typeLists) {
      expect(types).toEqual(expect.arrayContaining(["container.draining", "container.stopped"]));
    }
    const upload = document.paths["/api/images"].post.requestBody.content;
    expect(Object.keys(upload).sort()).toEqual(["application/json", "multipart/form-data"]);
  });

  it("is served without a token; /docs is a viewer whose files are all served here", async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("/docs/swagger-ui-bundle.js");
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const source of sources) {
      expect(source.startsWith("/docs/"), `${source} is served locally`).toBe(true);
      const asset = await fetch(`${server.url}${source}`);
      expect(asset.status, source).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    const start = await (await fetch(`${server.url}/docs/docs.js`)).text();
    expect(start).toContain("/api/openapi.json");
    expect((await fetch(`${server.url}/docs/..%2Fpackage.json`)).status).toBe(404);
  });
});
