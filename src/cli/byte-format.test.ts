import { describe, expect, it } from "vitest";
import { formatBytes, formatRate, uploadProgressLine } from "./byte-format.ts";

describe("byte formatting", () => {
  it("sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(12_595)).toBe("12.3 KiB");
    expect(formatBytes(4 * 1024 * 1024)).toBe("4.0 MiB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.00 GiB");
  });

  it("rates, none before any time passed", () => {
    expect(formatRate(2 * 1024 * 1024, 2000)).toBe("1.0 MiB/s");
    expect(formatRate(100, 0)).toBe("-");
  });

  it("draws an upload's progress", () => {
    expect(uploadProgressLine("web", 1024 * 1024, 2 * 1024 * 1024, 1000)).toBe(
      "↑ web [##########..........]  50%  1.0 MiB / 2.0 MiB  1.0 MiB/s",
    );
    expect(uploadProgressLine("web", 0, 0, 0)).toContain("100%");
  });
});
