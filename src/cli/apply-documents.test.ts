import { describe, expect, it } from "vitest";
import { containerOptionDefaults } from "../domain/container-options.ts";
import type { LoadedDocument } from "../gitops/load.ts";
import { problemFileErrors, requestDocuments } from "./apply-documents.ts";

const spec = {
  tag: "latest",
  app_hostname: null,
  container_port: 8080,
  min_instances: 0,
  max_instances: 10,
  desired_instances: 1,
  cpu_limit: "1",
  memory_limit: "512m",
  env: {},
  health_check: null,
  ...containerOptionDefaults,
};

const documents: LoadedDocument[] = [
  {
    file: "apps/web.yaml",
    line: 4,
    column: 9,
    name: "web",
    spec: { ...spec, image: "nginx:1.27", depends_on: [{ name: "shop", condition: "healthy" }] },
    dependsOnPositions: [{ line: 9, column: 7 }],
  },
  {
    file: "apps/shop.yaml",
    line: 4,
    column: 9,
    name: "shop",
    spec,
    source: "/repo/apps/shop",
    dependsOnPositions: [],
  },
];

describe("requestDocuments", () => {
  it("sends the name, the canonical spec and the digest of a packed source", () => {
    const sent = requestDocuments(documents, (folder) =>
      folder === "/repo/apps/shop" ? "ab".repeat(32) : undefined,
    );
    expect(sent).toEqual([
      {
        name: "web",
        ...spec,
        image: "nginx:1.27",
        depends_on: [{ name: "shop", condition: "healthy" }],
      },
      { name: "shop", ...spec, source_digest: "ab".repeat(32) },
    ]);
  });
});

describe("problemFileErrors", () => {
  it("points the server's errors of a document at the document's file", () => {
    const errors = problemFileErrors(
      {
        errors: [
          { path: "documents[1].max_instances", message: "must be at most 5 (MAX_INSTANCES_CAP)" },
          { path: "documents[0].name", message: "duplicate" },
          { path: "documents[0]", message: "bad" },
        ],
      },
      documents,
    );
    expect(errors).toEqual([
      {
        file: "apps/shop.yaml",
        line: 4,
        column: 9,
        path: "spec.max_instances",
        message: "must be at most 5 (MAX_INSTANCES_CAP)",
      },
      { file: "apps/web.yaml", line: 4, column: 9, path: "metadata.name", message: "duplicate" },
      { file: "apps/web.yaml", line: 4, column: 9, path: "", message: "bad" },
    ]);
  });

  it("points an error about a depends_on entry at that entry", () => {
    const errors = problemFileErrors(
      {
        errors: [{ path: "documents[0].depends_on[0]", message: "web → shop → web is a cycle" }],
      },
      documents,
    );
    expect(errors).toEqual([
      {
        file: "apps/web.yaml",
        line: 9,
        column: 7,
        path: "spec.depends_on[0]",
        message: "web → shop → web is a cycle",
      },
    ]);
  });

  it("gives up on errors that name no document", () => {
    expect(
      problemFileErrors({ errors: [{ path: "set", message: "bad" }] }, documents),
    ).toBeUndefined();
    expect(
      problemFileErrors({ errors: [{ path: "documents[7].tag", message: "bad" }] }, documents),
    ).toBeUndefined();
    expect(problemFileErrors({ detail: "no errors" }, documents)).toBeUndefined();
  });
});
