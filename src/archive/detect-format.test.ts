import { describe, expect, it } from "vitest";
import { formatOf } from "./detect-format.ts";

function tarHeader(magic: string): Uint8Array {
  const block = new Uint8Array(512);
  block.set(Buffer.from("Dockerfile"), 0);
  block.set(Buffer.from(magic, "latin1"), 257);
  return block;
}

describe("formatOf", () => {
  it("knows zip, gzip and tar by their bytes", () => {
    expect(formatOf(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14]))).toBe("zip");
    expect(formatOf(Buffer.from([0x50, 0x4b, 0x05, 0x06, 0, 0]))).toBe("zip");
    expect(formatOf(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).toBe("tar.gz");
    expect(formatOf(tarHeader("ustar\u000000"))).toBe("tar");
    expect(formatOf(tarHeader("ustar  \u0000"))).toBe("tar");
  });

  it("knows nothing else", () => {
    expect(formatOf(Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
    expect(formatOf(Buffer.from("PK"))).toBeUndefined();
    expect(formatOf(new Uint8Array(512))).toBeUndefined();
    expect(formatOf(new Uint8Array(0))).toBeUndefined();
    expect(formatOf(Buffer.from([0x42, 0x5a, 0x68]))).toBeUndefined(); // bzip2
  });
});
