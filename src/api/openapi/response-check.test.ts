import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { openApiDocument, undocumentedRoutes } from "./openapi-document.ts";
import { type ContractViolation, checkResponses } from "./response-check.ts";
import { documented } from "./route-doc.ts";

const thing = z.strictObject({ id: z.number().int(), name: z.string() });

function appAnswering(body: unknown, status = 200) {
  const violations: ContractViolation[] = [];
  const app = new Hono();
  app.use(checkResponses((violation) => violations.push(violation)));
  const sub = new Hono();
  sub.get(
    "/:id",
    documented({
      summary: "A thing",
      tags: ["things"],
      responses: { 200: { description: "The thing", body: thing } },
    }),
    (c) => c.json(body as object, status as 200),
  );
  sub.get("/:id/undocumented", (c) => c.json({}));
  app.route("/things", sub);
  return { app, violations };
}

describe("checkResponses", () => {
  it("passes an answer that matches its documentation", async () => {
    const { app, violations } = appAnswering({ id: 1, name: "a" });
    expect((await app.request("/things/1")).status).toBe(200);
    expect(violations).toEqual([]);
  });

  it("reports a field of the wrong type, a missing one and an undocumented one", async () => {
    const { app, violations } = appAnswering({ id: "1", extra: true });
    await app.request("/things/1");
    expect(violations).toHaveLength(1);
    expect(violations[0]?.route).toBe("GET /things/{id}");
    expect(violations[0]?.problem).toMatch(/id: /);
    expect(violations[0]?.problem).toMatch(/name: /);
    expect(violations[0]?.problem).toMatch(/extra/);
  });

  it("reports a status the route does not document", async () => {
    const { app, violations } = appAnswering({ id: 1, name: "a" }, 201);
    await app.request("/things/1");
    expect(violations.map((violation) => violation.problem)).toEqual([
      "status 201 is not documented",
    ]);
  });

  it("reports an error that is not problem+json, and a route without documentation", async () => {
    const failing = appAnswering({ message: "no" }, 404);
    await failing.app.request("/things/1");
    expect(failing.violations[0]?.problem).toMatch(/type: /);
    const bare = appAnswering({});
    await bare.app.request("/things/1/undocumented");
    expect(bare.violations.map((violation) => violation.problem)).toEqual([
      "the route is not documented",
    ]);
  });
});

describe("the document of an app", () => {
  it("lists undocumented routes, and documents the rest with OpenAPI paths", () => {
    const { app } = appAnswering({});
    expect(undocumentedRoutes(app.routes)).toEqual(["GET /things/:id/undocumented"]);
    const document = openApiDocument(app.routes, { title: "t", version: "1" }) as any;
    const operation = document.paths["/things/{id}"].get;
    expect(operation.operationId).toBe("getThingsId");
    expect(operation.responses["200"].content["application/json"].schema).toEqual({
      type: "object",
      properties: {
        id: { type: "integer", minimum: -9007199254740991, maximum: 9007199254740991 },
        name: { type: "string" },
      },
      required: ["id", "name"],
      additionalProperties: false,
    });
    expect(operation.parameters).toEqual([
      { name: "id", in: "path", required: true, schema: { type: "string" } },
    ]);
  });
});

describe("the answering route", () => {
  it("is the handler that answered, not a later match of the same request", async () => {
    const violations: ContractViolation[] = [];
    const app = new Hono();
    app.use(checkResponses((violation) => violations.push(violation)));
    const list = z.strictObject({ items: z.array(thing) });
    app.get(
      "/things/special",
      documented({
        summary: "s",
        tags: ["t"],
        responses: { 200: { description: "l", body: list } },
      }),
      (c) => c.json({ items: [{ id: 1, name: "a" }] }),
    );
    app.get(
      "/things/:id",
      documented({
        summary: "t",
        tags: ["t"],
        responses: { 200: { description: "t", body: thing } },
      }),
      (c) => c.json({ id: 1, name: "a" }),
    );
    await app.request("/things/special");
    await app.request("/things/2");
    expect(violations).toEqual([]);
  });
});

describe("documented refusals", () => {
  it("checks a documented error status against its own body, others as problems", async () => {
    const violations: ContractViolation[] = [];
    const app = new Hono();
    app.use(checkResponses((violation) => violations.push(violation)));
    app.get(
      "/ready",
      documented({
        summary: "r",
        tags: ["t"],
        responses: {
          200: { description: "up", body: z.strictObject({ status: z.string() }) },
          503: { description: "down", body: z.strictObject({ status: z.string() }) },
        },
      }),
      (c) => c.json({ status: "not_ready" }, 503),
    );
    await app.request("/ready");
    expect(violations).toEqual([]);
  });
});
