import { describe, expect, it } from "vitest";
import { containerOptionDefaults } from "../domain/container-options.ts";
import { formatFileError } from "./file-error.ts";
import { parseDocuments } from "./parse-documents.ts";

const cap = 100;

function errorLines(text: string): string[] {
  return parseDocuments(text, "apps/shop.yaml", cap).errors.map(formatFileError);
}

const header = "apiVersion: orchestrator/v1\nkind: Image\nmetadata:\n  name: shop\nspec:\n";

describe("parseDocuments: valid documents", () => {
  it("fills in defaults and canonical values, as the API's create schema does", () => {
    const parsed = parseDocuments(
      `${header}  image: nginx:1.27\n  cpu_limit: 500m\n  memory_limit: 256Mi\n  env: { DEBUG: true, N: 3 }\n  app_hostname: Shop.Example.com\n`,
      "shop.yaml",
      cap,
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.documents).toEqual([
      {
        name: "shop",
        spec: {
          tag: "latest",
          image: "nginx:1.27",
          app_hostname: "shop.example.com",
          container_port: 8080,
          min_instances: 0,
          max_instances: 10,
          desired_instances: 1,
          cpu_limit: "0.5",
          memory_limit: "256m",
          env: { DEBUG: "true", N: "3" },
          health_check: null,
          ...containerOptionDefaults,
        },
        namePosition: { line: 4, column: 9 },
        dependsOnPositions: [],
        desiredInstancesWritten: false,
      },
    ]);
  });

  it("reads several documents, skips empty ones and keeps source as written", () => {
    const text = `---\n${header}  source: ./shop\n---\n# nothing here\n---\n${header.replace("shop", "api")}  image: api:v1\n  health_check: { http_path: /healthz }\n...\n`;
    const parsed = parseDocuments(text, "set.yaml", cap);
    expect(parsed.errors).toEqual([]);
    expect(parsed.documents.map((document) => document.name)).toEqual(["shop", "api"]);
    expect(parsed.documents[0]).toMatchObject({
      source: "./shop",
      sourcePosition: { line: 7, column: 11 },
    });
    expect(parsed.documents[0]?.spec.image).toBeUndefined();
    expect(parsed.documents[1]?.spec.health_check).toEqual({
      http_path: "/healthz",
      interval: "10s",
      timeout: "3s",
      retries: 3,
      start_period: "0s",
    });
    expect(parsed.names).toEqual([
      { name: "shop", line: 5, column: 9 },
      { name: "api", line: 14, column: 9 },
    ]);
  });
});

describe("parseDocuments: errors", () => {
  it("points at the value of a bad field, with the field path", () => {
    expect(errorLines(`${header}  image: nginx\n  max_instances: 2\n  min_instances: 3\n`)).toEqual(
      ["apps/shop.yaml:8:18: spec.min_instances: must be ≤ max_instances (2)"],
    );
  });

  it("refuses the NUL character, pointing at the value or key that holds it", () => {
    expect(
      errorLines(`${header}  image: nginx:1.27\n  env:\n    A: "x\\0y"\n    "B\\0": ok\n`),
    ).toEqual([
      "apps/shop.yaml:8:8: spec.env.A: must not contain the NUL character (\\u0000)",
      "apps/shop.yaml:9:5: spec.env.B\u0000: the name must not contain the NUL character (\\u0000)",
    ]);
  });

  it("points at the key of an unknown field, at every level", () => {
    expect(
      errorLines(
        "apiVersion: orchestrator/v1\nkind: Image\ncolour: red\nmetadata:\n  name: shop\n  labels: {}\nspec:\n  image: nginx\n  replicas: 3\n  health_check:\n    http_path: /\n    period: 5s\n",
      ),
    ).toEqual([
      "apps/shop.yaml:3:1: colour: unknown field",
      "apps/shop.yaml:6:3: metadata.labels: unknown field",
      "apps/shop.yaml:9:3: spec.replicas: unknown field",
      "apps/shop.yaml:12:5: spec.health_check.period: unknown field",
    ]);
  });

  it("points at the parent map of a missing field", () => {
    expect(errorLines("kind: Image\nmetadata:\n  nam: shop\nspec:\n  tag: v1\n")).toEqual([
      "apps/shop.yaml:1:1: apiVersion: required",
      "apps/shop.yaml:3:3: metadata.nam: unknown field",
      "apps/shop.yaml:3:3: metadata.name: required",
      "apps/shop.yaml:5:3: spec: set exactly one of source or image",
    ]);
  });

  it("rejects a wrong apiVersion, kind, shape and types", () => {
    expect(
      errorLines(
        "apiVersion: orchestrator/v2\nkind: Pod\nmetadata: shop\nspec:\n  image: nginx\n  container_port: http\n  env: { bad-name: x, OK: [1] }\n  tag: null\n",
      ),
    ).toEqual([
      'apps/shop.yaml:1:13: apiVersion: must be "orchestrator/v1"',
      'apps/shop.yaml:2:7: kind: must be "Image"',
      "apps/shop.yaml:3:11: metadata: must be a mapping",
      "apps/shop.yaml:6:19: spec.container_port: must be a port number between 1 and 65535",
      "apps/shop.yaml:7:10: spec.env.bad-name: must be a variable name like LOG_LEVEL",
      "apps/shop.yaml:7:27: spec.env.OK: must be a string, number or boolean, or {secret: name}",
      "apps/shop.yaml:8:8: spec.tag: Invalid input: expected string, received null",
    ]);
  });

  it("requires exactly one of source or image", () => {
    expect(errorLines(`${header}  source: ./shop\n  image: nginx\n`)).toEqual([
      "apps/shop.yaml:7:3: spec.image: cannot be set together with source (set exactly one of source or image)",
    ]);
    expect(errorLines(`${header}  source: ""\n`)).toEqual([
      "apps/shop.yaml:6:11: spec.source: must be a folder path",
    ]);
  });

  it("reports bounds only for fields that were written", () => {
    expect(errorLines(`${header}  image: nginx\n  min_instances: 20\n`)).toEqual([
      "apps/shop.yaml:7:18: spec.min_instances: must be ≤ max_instances (10)",
    ]);
  });

  it("checks the server's cap when given one", () => {
    const parsed = parseDocuments(`${header}  image: nginx\n  max_instances: 50\n`, "a.yaml", 20);
    expect(parsed.errors.map(formatFileError)).toEqual([
      "a.yaml:7:18: spec.max_instances: must be at most 20 (MAX_INSTANCES_CAP)",
    ]);
  });

  it("reports YAML syntax errors with their position and goes on with the next document", () => {
    const text = `${header}  image: nginx\n  tag: v1\n  tag: v2\n---\nkind: [Image\n---\n- a list\n`;
    expect(errorLines(text)).toEqual([
      "apps/shop.yaml:8:3: Map keys must be unique",
      "apps/shop.yaml:11:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
      "apps/shop.yaml:12:1: must be a mapping with apiVersion, kind, metadata and spec",
    ]);
  });

  it("keeps the names of invalid documents, to find duplicates among all", () => {
    const parsed = parseDocuments(`${header}  tag: "bad tag"\n`, "a.yaml", cap);
    expect(parsed.documents).toEqual([]);
    expect(parsed.names).toEqual([{ name: "shop", line: 4, column: 9 }]);
  });
});

describe("parseDocuments: secrets", () => {
  it("reads secret references from env and as files, and points at a bad one", () => {
    const parsed = parseDocuments(
      `${header}  image: nginx:1.27\n  env:\n    DB: { secret: db-password }\n    X: 1\n  secrets:\n    - db-password\n    - { name: tls, target: /etc/tls.key }\n`,
      "apps/shop.yaml",
      10,
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.documents[0]?.spec.env).toEqual({ DB: { secret: "db-password" }, X: "1" });
    expect(parsed.documents[0]?.spec.secrets).toEqual([
      { name: "db-password", target: "/run/secrets/db-password" },
      { name: "tls", target: "/etc/tls.key" },
    ]);
    const bad = parseDocuments(
      `${header}  image: nginx:1.27\n  env:\n    DB: { secret: Bad }\n`,
      "apps/shop.yaml",
      10,
    );
    expect(bad.errors.map(formatFileError)[0]).toMatch(/^apps\/shop\.yaml:8:\d+: spec\.env\.DB/);
  });
});
