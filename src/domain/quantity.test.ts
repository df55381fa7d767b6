import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cpuBounds,
  formatCpu,
  formatMemory,
  memoryBounds,
  parseCpu,
  parseMemory,
} from "./quantity.ts";

describe("parseCpu", () => {
  it.each([
    ["0.5", 500_000_000],
    ["500m", 500_000_000],
    ["1", 1_000_000_000],
    [2, 2_000_000_000],
    [".25", 250_000_000],
    ["10m", 10_000_000],
    ["1.5", 1_500_000_000],
  ])("parses %s", (input, nano) => {
    expect(parseCpu(input)).toEqual({ ok: true, value: nano });
  });

  it.each([
    "",
    "abc",
    "0",
    "0m",
    "-1",
    "1e3",
    "5m",
    "1000",
    "0.5 cores",
    "1.2.3",
    "NaN",
    "Infinity",
  ])("rejects %s", (input) => {
    expect(parseCpu(input).ok).toBe(false);
  });

  it("formats back to a value that parses to the same amount", () => {
    fc.assert(
      fc.property(fc.integer({ min: cpuBounds.minNano, max: cpuBounds.maxNano }), (nano) => {
        expect(parseCpu(formatCpu(nano))).toEqual({ ok: true, value: nano });
      }),
    );
    expect(formatCpu(500_000_000)).toBe("0.5");
    expect(formatCpu(2_000_000_000)).toBe("2");
  });
});

describe("parseMemory", () => {
  it.each([
    ["512m", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["256Mi", 256 * 1024 ** 2],
    ["1Gi", 1024 ** 3],
    ["1GB", 1024 ** 3],
    [268_435_456, 268_435_456],
    ["268435456", 268_435_456],
    ["1.5g", 1.5 * 1024 ** 3],
  ])("parses %s", (input, bytes) => {
    expect(parseMemory(input)).toEqual({ ok: true, value: bytes });
  });

  it.each(["", "lots", "0", "-5m", "1m", "5x", "2t", "1 zb", "NaN"])("rejects %s", (input) => {
    expect(parseMemory(input).ok).toBe(false);
  });

  it("formats back to a value that parses to the same amount", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: memoryBounds.minBytes, max: memoryBounds.maxBytes }),
        (bytes) => {
          expect(parseMemory(formatMemory(bytes))).toEqual({ ok: true, value: bytes });
        },
      ),
    );
    expect(formatMemory(256 * 1024 ** 2)).toBe("256m");
    expect(formatMemory(1024 ** 3)).toBe("1g");
  });
});
