import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "./duration.ts";

describe("parseDuration", () => {
  it.each([
    ["10s", 10_000],
    ["1m", 60_000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
  ])("parses %s", (input, ms) => expect(parseDuration(input)).toEqual({ ok: true, value: ms }));

  it.each(["", "10", "ten seconds", "-1s", "1d", "1.5s"])("rejects %s", (input) => {
    expect(parseDuration(input).ok).toBe(false);
  });

  it("enforces bounds", () => {
    expect(parseDuration("2h").ok).toBe(true);
    expect(parseDuration("0s", { minMs: 1000, maxMs: 60_000 }).ok).toBe(false);
  });

  it("formats back exactly", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400_000 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, value: ms });
      }),
    );
  });
});
