import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ContainerSpec, canonicalJson, specHash } from "./spec-hash.ts";

const base: ContainerSpec = {
  image: "shop:v1",
  imageId: "sha256:abc",
  env: { A: "1", B: "2" },
  containerPort: 8080,
  nanoCpus: 500_000_000,
  memoryBytes: 268_435_456,
};

describe("specHash", () => {
  it("does not depend on key order", () => {
    const reordered: ContainerSpec = { ...base, env: { B: "2", A: "1" } };
    expect(specHash(reordered)).toBe(specHash(base));
    expect(specHash(base)).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    ["image", { image: "shop:v2" }],
    ["image id (a rebuild under the same tag)", { imageId: "sha256:def" }],
    ["env", { env: { A: "1", B: "3" } }],
    ["port", { containerPort: 80 }],
    ["cpu", { nanoCpus: 1_000_000_000 }],
    ["memory", { memoryBytes: 536_870_912 }],
    ["healthcheck", { healthcheck: ["CMD", "true"] }],
  ])("changes when the %s changes", (_, change) => {
    expect(specHash({ ...base, ...change })).not.toBe(specHash(base));
  });

  it("canonical JSON round-trips any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
