import { describe, expect, it } from "vitest";
import { generateToken, hashToken, tokensEqual } from "./tokens.ts";

describe("tokens", () => {
  it("are random, prefixed and URL-safe", () => {
    const first = generateToken();
    const second = generateToken();
    expect(first).not.toBe(second);
    expect(first).toMatch(/^orc_[A-Za-z0-9_-]{43}$/);
  });

  it("hash to a stable hex digest that does not contain the token", () => {
    const token = generateToken();
    expect(hashToken(token)).toBe(hashToken(token));
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token.slice(4));
  });

  it("compare equal only when identical", () => {
    const token = generateToken();
    expect(tokensEqual(token, token)).toBe(true);
    expect(tokensEqual(`${token}x`, token)).toBe(false);
    expect(tokensEqual("", token)).toBe(false);
  });
});
