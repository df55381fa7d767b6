import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createLogKeeper, isTruncatedLog, maxStoredLogChars, truncateLog } from "./log-keeper.ts";

describe("truncateLog", () => {
  it("keeps a short log as it is", () => {
    expect(truncateLog("Step 1/2 : FROM base\n")).toBe("Step 1/2 : FROM base\n");
    const exact = "x".repeat(maxStoredLogChars);
    expect(truncateLog(exact)).toBe(exact);
  });

  it("keeps the head and the tail of a long log, with a marker saying how much is gone", () => {
    const log = `${"Step 1/9 : FROM base\n"}${"noise line\n".repeat(5_000)}The command '/bin/sh -c false' returned a non-zero code: 1\n`;
    const kept = truncateLog(log);
    expect(kept.length).toBeLessThanOrEqual(maxStoredLogChars);
    expect(kept.startsWith("Step 1/9 : FROM base\n")).toBe(true);
    expect(kept.endsWith("returned a non-zero code: 1\n")).toBe(true);
    const omitted = Number(/\[\.\.\. (\d+) characters omitted/.exec(kept)?.[1]);
    const markerLength = /\n\[\.\.\. .*? \.\.\.\]\n/.exec(kept)?.[0].length ?? 0;
    expect(kept.length - markerLength + omitted).toBe(log.length);
    expect(isTruncatedLog(kept)).toBe(true);
    expect(isTruncatedLog(log)).toBe(false);
  });

  it("never exceeds the limit, and the end of the log is always its last characters", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 3_000 }),
        fc.integer({ min: 200, max: 2_000 }),
        (log, max) => {
          const kept = truncateLog(log, max);
          expect(kept.length).toBeLessThanOrEqual(max);
          if (log.length <= max) expect(kept).toBe(log);
          else expect(log.endsWith(kept.slice(kept.lastIndexOf("...]\n") + 5))).toBe(true);
        },
      ),
    );
  });
});

describe("createLogKeeper", () => {
  it("gives what truncateLog gives for the whole text, however it arrives", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 700 }), { maxLength: 40 }),
        fc.integer({ min: 200, max: 3_000 }),
        (chunks, max) => {
          const keeper = createLogKeeper(max);
          for (const chunk of chunks) keeper.append(chunk);
          expect(keeper.snapshot()).toBe(truncateLog(chunks.join(""), max));
          expect(keeper.length).toBe(chunks.join("").length);
        },
      ),
    );
  });
});
