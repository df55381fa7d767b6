import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { open, SecretUnreadableError, seal, secretBinding, secretsKeyOf } from "./cipher.ts";

const key = secretsKeyOf(randomBytes(32));

describe("sealing values at rest", () => {
  it("opens what it sealed, for any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), fc.string(), (value, boundTo) => {
        return open(key, seal(key, value, boundTo), boundTo) === value;
      }),
      { numRuns: 100 },
    );
  }, 30_000);

  it("never writes the value, and never the same ciphertext twice", () => {
    const first = seal(key, "hunter2-hunter2", secretBinding(7, "db"));
    const second = seal(key, "hunter2-hunter2", secretBinding(7, "db"));
    expect(first).not.toBe(second);
    expect(first).not.toContain("hunter2");
    expect(first).not.toContain(Buffer.from("hunter2-hunter2").toString("base64url"));
    expect(first.split(".")[0]).toBe("v1");
  });

  it("refuses another key", () => {
    const sealed = seal(key, "value", secretBinding(7, "db"));
    expect(() => open(secretsKeyOf(randomBytes(32)), sealed, secretBinding(7, "db"))).toThrow(
      SecretUnreadableError,
    );
  });

  it("refuses a ciphertext moved to another owner or name", () => {
    const sealed = seal(key, "value", secretBinding(7, "db"));
    expect(() => open(key, sealed, secretBinding(8, "db"))).toThrow(SecretUnreadableError);
    expect(() => open(key, sealed, secretBinding(7, "other"))).toThrow(SecretUnreadableError);
  });

  it("detects any altered byte of the iv, the tag or the ciphertext", () => {
    const sealed = seal(key, "a value long enough to alter", secretBinding(7, "db"));
    const [version, ...parts] = sealed.split(".");
    for (const [index, part] of parts.entries()) {
      const bytes = Buffer.from(part, "base64url");
      for (const position of [0, bytes.length - 1]) {
        const altered = Buffer.from(bytes);
        altered[position] = (altered[position] ?? 0) ^ 0x01;
        const tampered = [
          version,
          ...parts.map((other, at) => (at === index ? altered.toString("base64url") : other)),
        ].join(".");
        expect(() => open(key, tampered, secretBinding(7, "db"))).toThrow(SecretUnreadableError);
      }
    }
  });

  it("refuses what is not a sealed value", () => {
    for (const text of ["", "plain", "v2.a.b.c", "v1.a.b", "v1.a.b.c.d"]) {
      expect(() => open(key, text, "x")).toThrow(SecretUnreadableError);
    }
  });

  it("keeps the key out of JSON and strings", () => {
    expect(JSON.stringify({ key })).not.toContain(key.bytes.toString("base64"));
    expect(String(key)).toBe("[secrets key]");
    expect(() => secretsKeyOf(randomBytes(16))).toThrow(/32 bytes/);
  });
});
