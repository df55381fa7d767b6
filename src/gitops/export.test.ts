import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { containerOptionDefaults } from "../domain/container-options.ts";
import { formatDuration } from "../domain/duration.ts";
import { imageNamePattern, tagPattern } from "../domain/names.ts";
import { formatCpu, formatMemory } from "../domain/quantity.ts";
import { type ExportableImage, exportDocuments, exportImageDocument } from "./export.ts";
import { parseDocuments } from "./parse-documents.ts";

const shop: ExportableImage = {
  name: "shop",
  tag: "v3",
  image: null,
  app_hostname: "shop.example.com",
  container_port: 8080,
  min_instances: 1,
  max_instances: 5,
  desired_instances: 3,
  cpu_limit: "0.5",
  memory_limit: "256m",
  env: { LOG_LEVEL: "info" },
  health_check: null,
  ...containerOptionDefaults,
  source_type: "upload",
};

const api: ExportableImage = {
  ...shop,
  name: "api",
  tag: "1.0",
  image: "registry:5000/team/api:1.0",
  app_hostname: null,
  cpu_limit: "1",
  env: {},
  health_check: {
    test: ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
    interval: "10s",
    timeout: "3s",
    retries: 3,
    start_period: "0s",
  },
  source_type: "reference",
};

/** The canonical spec the API holds for an image: what loading its export must give back. */
function specOf(image: ExportableImage) {
  const { name: _name, source_type, image: reference, ...rest } = image;
  return source_type === "reference" ? { ...rest, image: reference } : rest;
}

/** Any text a stored image can hold: Postgres keeps no NUL in text or jsonb (input refuses it). */
const storableText = fc.string({ unit: "binary" }).map((text) => text.replaceAll("\u0000", ""));

describe("exportImageDocument", () => {
  it("writes an upload with source: ./<name> and a comment on what that folder must hold", () => {
    expect(exportImageDocument(shop)).toBe(`apiVersion: orchestrator/v1
kind: Image
metadata:
  name: shop
spec:
  source: ./shop # must be a folder holding this image's Dockerfile: an upload's build context cannot be exported
  tag: v3
  app_hostname: shop.example.com
  container_port: 8080
  min_instances: 1
  max_instances: 5
  desired_instances: 3
  cpu_limit: "0.5"
  memory_limit: 256m
  env:
    LOG_LEVEL: info
`);
  });

  it("writes an existing image by reference, leaving out empty defaults", () => {
    const text = exportImageDocument(api);
    expect(text).toContain("  image: registry:5000/team/api:1.0\n");
    expect(text).toContain('  tag: "1.0"\n');
    expect(text).not.toContain("app_hostname");
    expect(text).not.toContain("env");
    expect(text).not.toContain("source");
  });

  it("round-trips to the same canonical spec", () => {
    const parsed = parseDocuments(exportDocuments([shop, api]), "export.yaml", 100);
    expect(parsed.errors).toEqual([]);
    expect(parsed.documents.map((document) => [document.name, document.spec])).toEqual([
      ["api", specOf(api)],
      ["shop", specOf(shop)],
    ]);
    expect(parsed.documents[1]?.source).toBe("./shop");
  });
});

const imageArbitrary: fc.Arbitrary<ExportableImage> = fc
  .record({
    name: fc.stringMatching(imageNamePattern),
    tag: fc.stringMatching(tagPattern),
    reference: fc.option(
      fc.constantFrom("nginx", "nginx:1.27", "registry:5000/team/app:v1", "ghcr.io/a/b-c_d:x.y"),
      { nil: null },
    ),
    app_hostname: fc.option(
      fc.domain().map((domain) => domain.toLowerCase()),
      { nil: null },
    ),
    container_port: fc.integer({ min: 1, max: 65535 }),
    bounds: fc
      .tuple(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
      )
      .map((counts) => counts.sort((left, right) => left - right)),
    nanoCpus: fc.integer({ min: 10_000_000, max: 256_000_000_000 }),
    memoryBytes: fc.integer({ min: 6 * 1024 ** 2, max: 1024 ** 4 }),
    env: fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/), storableText, {
      maxKeys: 5,
    }),
    health_check: fc.option(
      fc.record({
        probe: fc.oneof(
          fc.record({ http_path: fc.stringMatching(/^\/[\x21-\x7e]{0,20}$/) }),
          fc.record({
            test: fc.tuple(
              fc.constantFrom("CMD", "CMD-SHELL"),
              fc.array(storableText, { minLength: 1, maxLength: 3 }),
            ),
          }),
        ),
        interval: fc.integer({ min: 1_000, max: 3_600_000 }),
        timeout: fc.integer({ min: 100, max: 600_000 }),
        retries: fc.integer({ min: 1, max: 100 }),
        start_period: fc.integer({ min: 0, max: 3_600_000 }),
      }),
      { nil: null },
    ),
    command: fc.option(fc.array(storableText, { maxLength: 4 }), { nil: null }),
    working_dir: fc.option(fc.stringMatching(/^\/[a-z0-9/_-]{0,20}$/), { nil: null }),
    labels: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9._/-]{0,20}$/), storableText, {
      maxKeys: 3,
    }),
    ports: fc.uniqueArray(
      fc.record({
        container: fc.integer({ min: 1, max: 65535 }),
        protocol: fc.constantFrom("tcp" as const, "udp" as const),
      }),
      { maxLength: 3, selector: (mapping) => `${mapping.container}/${mapping.protocol}` },
    ),
    restart_policy: fc.oneof(
      fc.constant({ name: "always" as const }),
      fc.constant({ name: "never" as const }),
      fc.record({ name: fc.constant("on-failure" as const), max_retries: fc.nat(20) }),
    ),
    pull_policy: fc.constantFrom("always" as const, "missing" as const, "never" as const),
    volumes: fc.uniqueArray(
      fc.oneof(
        fc.record({
          type: fc.constant("volume" as const),
          source: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
          target: fc.stringMatching(/^\/[a-z][a-z0-9_-]{0,12}(\/[a-z0-9_-]{1,8})?$/),
          read_only: fc.boolean(),
        }),
        fc.record({
          type: fc.constant("bind" as const),
          source: fc.stringMatching(/^\/[a-z][a-z0-9_-]{0,12}$/),
          target: fc.stringMatching(/^\/[a-z][a-z0-9_-]{0,12}$/),
          read_only: fc.boolean(),
        }),
      ),
      { maxLength: 3, selector: (mount) => mount.target },
    ),
    init: fc.boolean(),
    networks: fc.uniqueArray(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/), {
      maxLength: 3,
    }),
    depends_on: fc.uniqueArray(
      fc.record({
        name: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/),
        condition: fc.constantFrom("started" as const, "healthy" as const),
      }),
      { maxLength: 3, selector: (dependency) => dependency.name },
    ),
  })
  .map((value) => ({
    ...containerOptionDefaults,
    command: value.command,
    working_dir: value.working_dir,
    labels: value.labels,
    ports: value.ports,
    restart_policy: value.restart_policy,
    pull_policy: value.pull_policy,
    volumes: value.volumes.filter(
      (mount) => !["/proc", "/sys", "/dev"].some((reserved) => mount.target.startsWith(reserved)),
    ),
    init: value.init,
    networks: value.networks,
    depends_on: value.depends_on,
    name: value.name,
    tag: value.tag,
    image: value.reference,
    app_hostname: value.app_hostname,
    container_port: value.container_port,
    min_instances: value.bounds[0] ?? 0,
    desired_instances: value.bounds[1] ?? 0,
    max_instances: value.bounds[2] ?? 1,
    cpu_limit: formatCpu(value.nanoCpus),
    memory_limit: formatMemory(value.memoryBytes),
    env: value.env,
    health_check:
      value.health_check === null
        ? null
        : {
            ...("http_path" in value.health_check.probe
              ? { http_path: value.health_check.probe.http_path }
              : { test: [value.health_check.probe.test[0], ...value.health_check.probe.test[1]] }),
            interval: formatDuration(value.health_check.interval),
            timeout: formatDuration(value.health_check.timeout),
            retries: value.health_check.retries,
            start_period: formatDuration(value.health_check.start_period),
          },
    source_type: value.reference === null ? "upload" : "reference",
  }));

describe("export → load", () => {
  it("gives back the canonical spec of any image", () => {
    fc.assert(
      fc.property(imageArbitrary, (image) => {
        const parsed = parseDocuments(exportImageDocument(image), "export.yaml", 10_000);
        expect(parsed.errors).toEqual([]);
        expect(parsed.documents[0]?.name).toBe(image.name);
        expect(parsed.documents[0]?.spec).toEqual(specOf(image));
      }),
      { numRuns: 300 },
    );
  }, 120_000);
});
