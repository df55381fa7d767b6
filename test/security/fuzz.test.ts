/**
 * Fuzzing the ways input comes in (fast-check): JSON bodies, query strings, multipart fields and
 * YAML desired-state files, at the real app on both backends. Whatever comes in, the answer is
 * never a 500, and a request that is refused (4xx) changes nothing in the database.
 *
 * Every run prints its seed and counts. Reproduce a run with `FUZZ_SEED=<seed>`; change its size
 * with `FUZZ_RUNS=<cases per property per backend>`. `npm test` runs 250 (2,000 cases on two
 * backends, to stay quick); `npm run test:fuzz` runs 1,300 (4 properties × 2 backends × 1,300 =
 * 10,400 cases, about 100 s on an idle machine).
 */
import fc from "fast-check";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { requestDocuments } from "../../src/cli/apply-documents.ts";
import { parseDocuments } from "../../src/gitops/parse-documents.ts";
import { backends } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { startTestServer, type TestServer } from "../support/test-server.ts";

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
const runs = Number(process.env.FUZZ_RUNS ?? 250);

/** Strings that find bugs: NUL, unicode, huge, path tricks, numbers as text. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "",
    "\u0000",
    "a\u0000b",
    "../../etc/passwd",
    "%00",
    "null",
    "-1",
    "1e309",
    "💥",
    " ",
  ),
  fc.string({ unit: fc.constantFrom("a", "\u0000", "é", "\\", '"', "{", "%"), maxLength: 30 }),
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nasty },
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
);

/** An image document close to a valid one: every field sometimes right, sometimes anything. */
const imageDocument = fc.record(
  {
    name: fc.oneof(fc.constantFrom("web", "api", "shop"), nasty),
    image: fc.oneof(fc.constant(testImages.httpd), value),
    tag: fc.oneof(fc.constant("v1"), value),
    desired_instances: fc.oneof(fc.integer({ min: 0, max: 3 }), value),
    min_instances: fc.oneof(fc.constant(0), value),
    max_instances: fc.oneof(fc.integer({ min: 1, max: 5 }), value),
    cpu_limit: fc.oneof(fc.constantFrom("0.1", "500m", "2"), value),
    memory_limit: fc.oneof(fc.constantFrom("32m", "1g"), value),
    container_port: fc.oneof(fc.integer({ min: 1, max: 65535 }), value),
    env: fc.oneof(fc.dictionary(nasty, nasty, { maxKeys: 3 }), value),
    app_hostname: fc.oneof(fc.constant("shop.example.com"), value),
    health_check: fc.oneof(fc.constant({ http_path: "/" }), value),
    pool: fc.oneof(fc.constant({ min_idle: 0, max: 2 }), fc.dictionary(nasty, value), value),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(imageDocument, value, fc.dictionary(nasty, value, { maxKeys: 4 }));

describe.each(backends())("fuzzing the API on %s", (backend) => {
  const counted = { cases: 0, refused: 0, accepted: 0 };
  let server: TestServer;
  let alice: string;
  let imageId: number;
  let instanceId: string;

  beforeAll(async () => {
    server = await startTestServer({
      backend,
      env: {
        AUTH_FAILURES_PER_MINUTE: "10000000",
        RATE_LIMIT_WRITES_PER_MINUTE: "10000000",
        QUOTA_IMAGES: "20",
        QUOTA_INSTANCES: "10",
      },
    });
    // The API is under test: no controller, so no container starts whatever is accepted.
    await server.service.controller.stop(5_000);
    alice = await server.createUser("alice");
    const created = await server.request("POST", "/api/images", {
      token: alice,
      body: { name: "target", image: testImages.httpd, desired_instances: 0 },
    });
    imageId = created.body.id;
    instanceId = "fuzzinstance1";
    await server.service.store.instances.insert([
      { id: instanceId, image_id: imageId, user_id: created.body.user_id, container_name: "fuzz" },
    ]);
  });
  afterAll(async () => {
    console.log(
      `[fuzz] ${backend}: seed=${seed} runs=${runs} cases=${counted.cases} refused=${counted.refused} accepted=${counted.accepted} (reproduce: FUZZ_SEED=${seed})`,
    );
    await server?.stop();
  });

  /** A digest of everything a request could change (not last_used_at, which reads change). */
  async function fingerprint(): Promise<string> {
    const result = await sql<{ digest: string }>`
      select md5(concat_ws('|',
        (select string_agg(i::text, ',' order by id) from images i),
        (select string_agg(concat_ws(':', id, desired_state, deletion_requested_at), ',' order by id) from instances),
        (select string_agg(concat_ws(':', id, name, quota_images, quota_instances, quota_nano_cpus, quota_memory_bytes, quota_concurrent_builds), ',' order by id) from users),
        (select string_agg(concat_ws(':', id, user_id, name, scope, expires_at), ',' order by id) from api_tokens),
        (select count(*) from audit_log),
        (select count(*) from events))) as digest`.execute(server.service.store.db);
    return result.rows[0]?.digest ?? "";
  }

  /** Sends a request to the app and checks the two promises: no 500, a refusal changes nothing. */
  async function check(
    method: string,
    path: string,
    init: { token?: string; json?: unknown; form?: FormData; text?: string },
  ) {
    const before = await fingerprint();
    const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? alice}` };
    let requestBody: RequestInit["body"];
    if (init.form !== undefined) requestBody = init.form;
    else if (init.text !== undefined) {
      requestBody = init.text;
      headers["content-type"] = "application/json";
    } else if (init.json !== undefined) {
      requestBody = JSON.stringify(init.json);
      headers["content-type"] = "application/json";
    }
    const response = await server.service.app.request(path, {
      method,
      headers,
      ...(requestBody === undefined ? {} : { body: requestBody }),
    });
    const text = await response.text();
    counted.cases += 1;
    expect(response.status, `${method} ${path}: ${text.slice(0, 300)}`).toBeLessThan(500);
    if (response.status >= 400) {
      counted.refused += 1;
      expect(response.headers.get("content-type")).toBe("application/problem+json");
      expect(await fingerprint(), `${method} ${path} was refused but changed something`).toBe(
        before,
      );
    } else counted.accepted += 1;
  }

  const jsonRoutes = () =>
    fc.constantFrom(
      ["POST", "/api/images"],
      ["PATCH", `/api/images/${imageId}`],
      ["POST", `/api/containers/${imageId}`],
      ["POST", "/api/apply"],
      ["POST", "/api/apply?dry_run=1"],
      ["POST", "/api/tokens"],
      ["POST", "/api/users"],
      ["PATCH", "/api/quota?user=alice"],
      ["POST", `/api/images/${imageId}/claims?wait=0s`],
      ["POST", `/api/claims/${instanceId}/renew`],
    );

  it("JSON bodies: never a 500, and a refused one changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        jsonRoutes(),
        fc.oneof(
          body,
          fc.record({
            set: fc.oneof(fc.constant("fuzz"), nasty),
            documents: fc.array(imageDocument, { maxLength: 3 }),
          }),
          fc.record({
            user: fc.oneof(fc.constant("alice"), nasty),
            name: nasty,
            scope: value,
            expires_in: value,
          }),
        ),
        fc.boolean(),
        fc.option(nasty),
        async ([method, path], json, asAdmin, rawText) => {
          const token = asAdmin ? server.adminToken : alice;
          if (rawText !== null) await check(method, path, { token, text: rawText });
          else await check(method, path, { token, json });
        },
      ),
      { seed, numRuns: runs },
    );
  });

  it("query strings: never a 500, and a GET changes nothing", async () => {
    const routes = fc.constantFrom(
      "/api/images",
      "/api/images/with-containers",
      `/api/images/${imageId}`,
      `/api/images/${imageId}/build-logs`,
      "/api/containers",
      `/api/containers/${instanceId}/health/history`,
      `/api/containers/${instanceId}/logs`,
      "/api/events",
      "/api/tokens",
      "/api/quota",
      "/api/audit",
      "/api/users",
      "/api/claims",
      `/api/images/${imageId}/claims`,
    );
    const names = fc.oneof(
      fc.constantFrom(
        "user",
        "key",
        "image_id",
        "instance_id",
        "type",
        "since",
        "after",
        "limit",
        "tail",
        "follow",
        "actor",
        "action",
      ),
      nasty,
    );
    await fc.assert(
      fc.asyncProperty(
        routes,
        fc.dictionary(names, nasty, { maxKeys: 4 }),
        fc.boolean(),
        async (route, query, asAdmin) => {
          // Never follow: a stream would not end by itself.
          const params = new URLSearchParams(
            Object.entries(query).filter(([name]) => name !== "follow"),
          );
          const before = await fingerprint();
          await check("GET", `${route}?${params}`, { token: asAdmin ? server.adminToken : alice });
          expect(await fingerprint()).toBe(before);
        },
      ),
      { seed, numRuns: runs },
    );
  });

  it("multipart fields: never a 500, and a refused upload changes nothing", async () => {
    const fieldNames = fc.oneof(
      fc.constantFrom(
        "name",
        "image",
        "tag",
        "env",
        "health_check",
        "desired_instances",
        "max_instances",
        "cpu_limit",
        "memory_limit",
        "container_port",
        "app_hostname",
      ),
      nasty,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fieldNames, nasty), { maxLength: 6 }),
        fc.option(fc.uint8Array({ maxLength: 512 })),
        fc.constantFrom("/api/images", `/api/images/${imageId}/source`),
        async (fields, file, path) => {
          const form = new FormData();
          for (const [name, fieldValue] of fields) form.append(name, fieldValue);
          if (file !== null) form.append("file", new Blob([file]), "app.tar");
          await check(path.endsWith("/source") ? "PUT" : "POST", path, { form });
        },
      ),
      { seed, numRuns: runs },
    );
  });

  it("YAML desired-state files: parsed without throwing, applied never with a 500", async () => {
    const envelope = fc.record(
      {
        apiVersion: fc.oneof(fc.constant("orchestrator/v1"), value),
        kind: fc.oneof(fc.constant("Image"), value),
        metadata: fc.oneof(
          fc.record({ name: fc.oneof(fc.constantFrom("web", "docs"), nasty) }),
          value,
        ),
        spec: fc.oneof(
          imageDocument.map(({ name: _name, ...spec }) => spec),
          value,
        ),
      },
      { requiredKeys: [] },
    );
    /** A file: documents, sometimes with bytes changed to break its syntax. */
    const file = fc
      .tuple(
        fc.array(envelope, { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.tuple(fc.nat(), fc.constantFrom(":", "-", "\t", "'", '"', "\u0000", "&", "*", "\n  ")),
          {
            maxLength: 3,
          },
        ),
      )
      .map(([documents, edits]) => {
        let text = documents.map((document) => stringify(document)).join("---\n");
        for (const [at, insert] of edits) {
          const position = text.length === 0 ? 0 : at % text.length;
          text = text.slice(0, position) + insert + text.slice(position);
        }
        return text;
      });
    await fc.assert(
      fc.asyncProperty(file, async (text) => {
        const parsed = parseDocuments(text, "fuzz.yaml", 100);
        for (const error of parsed.errors) {
          expect(error.line).toBeGreaterThanOrEqual(1);
          expect(error.column).toBeGreaterThanOrEqual(1);
        }
        if (parsed.errors.length > 0 || parsed.documents.length === 0) {
          counted.cases += 1;
          counted.refused += 1;
          return;
        }
        const documents = requestDocuments(
          parsed.documents.map((document) => ({
            ...document,
            file: "fuzz.yaml",
            line: document.namePosition.line,
            column: document.namePosition.column,
            ...(document.source === undefined ? {} : { source: document.source }),
          })),
          () => "0".repeat(64),
        );
        await check("POST", "/api/apply", { json: { set: "fuzz-files", documents } });
      }),
      { seed, numRuns: runs },
    );
  });
});
