/**
 * The layering rules of docs/architecture.md, checked on the source: each library has one
 * adapter folder that imports it, the API never reaches Docker, the store is the only place that
 * speaks SQL, and the pure folders stay pure.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const srcDir = fileURLToPath(new URL(".", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const files = sourceFiles(srcDir).map((path) => ({
  path: relative(srcDir, path),
  text: readFileSync(path, "utf8"),
}));

const importsOf = (text: string) =>
  [...text.matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)].map((match) => match[1] ?? "");

/** Files outside `allowed` folders that import a module matching `module`. */
function importersOutside(module: RegExp, allowed: readonly string[]): string[] {
  return files
    .filter((file) => !allowed.some((folder) => file.path.startsWith(folder)))
    .filter((file) => importsOf(file.text).some((specifier) => module.test(specifier)))
    .map((file) => file.path);
}

describe("layering", () => {
  it("finds the source files and their imports", () => {
    expect(files.length).toBeGreaterThan(100);
    const composition = files.find((file) => file.path === "composition-root.ts");
    expect(importsOf(composition?.text ?? "")).toContain("./store/database.ts");
  });

  it.each([
    [
      "kysely and the Postgres drivers",
      /^(kysely|kysely-.*|postgres|@electric-sql\/pglite)$/,
      ["store/"],
    ],
    ["dockerode", /^dockerode$/, ["docker/"]],
    ["kafkajs", /^kafkajs$/, ["events/kafka-sink.ts", "events/kafka-source.ts"]],
    ["the archive readers", /^(yauzl|tar-fs)$/, ["archive/"]],
    ["the HTTP server adapter", /^@hono\/node-server$/, ["api/http-server.ts"]],
    ["the rate limiter", /^rate-limiter-flexible$/, ["api/rate-limit.ts"]],
  ] as const)("only its adapter imports %s", (_, module, allowed) => {
    expect(importersOutside(module, allowed)).toEqual([]);
  });

  it("keeps SQL in the store: nobody else touches the query builder", () => {
    const outside = files.filter((file) => !file.path.startsWith("store/"));
    expect(
      outside.filter((file) => /\.db\b|\bsql`/.test(file.text)).map((file) => file.path),
    ).toEqual([]);
  });

  it("lets the API reach the engine only through the ports it is handed", () => {
    const api = files.filter((file) => file.path.startsWith("api/"));
    expect(
      api
        .filter((file) => importsOf(file.text).some((specifier) => specifier.includes("/docker/")))
        .map((file) => file.path),
    ).toEqual([]);
  });

  it("keeps the reconciler free of the build pipeline (builds implement its port)", () => {
    const reconcilers = files.filter((file) => file.path.startsWith("reconcilers/"));
    expect(
      reconcilers
        .filter((file) => importsOf(file.text).some((specifier) => specifier.includes("/builds/")))
        .map((file) => file.path),
    ).toEqual([]);
  });

  it("lets the controller's reconciler write only through store.transaction (fenced per term)", () => {
    const directWrite =
      /\bstore\.(?:images|instances|claims|events|builds|healthSnapshots|leaderLeases)\.(?:insert|delete|mark|patch|write|append|update|save|record|prune|create)\w*\(/;
    expect(
      files
        .filter((file) => file.path.startsWith("reconcilers/") && directWrite.test(file.text))
        .map((file) => file.path),
    ).toEqual([]);
  });

  it("keeps domain/ pure: it imports only itself and zod", () => {
    const domain = files.filter((file) => file.path.startsWith("domain/"));
    const foreign = domain.flatMap((file) =>
      importsOf(file.text)
        .filter((specifier) => !/^(\.\/|node:crypto$|zod$)/.test(specifier))
        .map((specifier) => `${file.path} → ${specifier}`),
    );
    expect(foreign).toEqual([]);
  });
});
