import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ContainerSpec, canonicalJson, sameCanonicalJson, specHash } from "./spec-hash.ts";

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

/** The same JSON value with the keys of every object in another order. */
function reordered(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item) => reordered(item, seed + 1));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const turned = entries
    .slice(seed % Math.max(1, entries.length))
    .concat(entries.slice(0, seed % Math.max(1, entries.length)));
  return Object.fromEntries(
    turned.reverse().map(([key, item]) => [key, reordered(item, seed + 1)]),
  );
}

describe("sameCanonicalJson", () => {
  it("answers as comparing canonicalJson does, for any two JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (left, right) => {
        expect(sameCanonicalJson(left, right)).toBe(canonicalJson(left) === canonicalJson(right));
      }),
    );
  });

  it("finds a value equal to itself with its keys in any order, and unequal once one leaf moves", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), (value, seed) => {
        expect(sameCanonicalJson(value, reordered(value, seed))).toBe(true);
        expect(
          sameCanonicalJson({ value, extra: 1 }, { value: reordered(value, seed), extra: 2 }),
        ).toBe(false);
      }),
    );
  });

  it("leaves out keys holding undefined, as JSON does, and tells arrays from objects", () => {
    expect(sameCanonicalJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameCanonicalJson({ a: 1 }, { a: 1, b: null })).toBe(false);
    expect(sameCanonicalJson([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(sameCanonicalJson({ a: [1, { b: 2, c: 3 }] }, { a: [1, { c: 3, b: 2 }] })).toBe(true);
    expect(sameCanonicalJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameCanonicalJson(null, {})).toBe(false);
    expect(sameCanonicalJson(1, "1")).toBe(false);
  });
});
