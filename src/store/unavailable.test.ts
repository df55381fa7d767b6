import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable, isWriteConflict } from "./unavailable.ts";

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe("isDatabaseUnavailable", () => {
  it.each([
    "CONNECTION_CLOSED",
    "CONNECTION_ENDED",
    "CONNECTION_DESTROYED",
    "CONNECT_TIMEOUT",
    "ECONNREFUSED",
    "ECONNRESET",
    "57P01", // terminating connection due to administrator command
    "57P03", // the database system is starting up
    "08006", // connection failure
    "53300", // too many connections
  ])("is true for %s", (code) => {
    expect(isDatabaseUnavailable(withCode(code))).toBe(true);
  });

  it("looks through causes", () => {
    expect(isDatabaseUnavailable(new Error("wrapped", { cause: withCode("57P01") }))).toBe(true);
  });

  it.each(["23505", "42P01", "40001", "22P02", "ERR_SOMETHING"])("is false for %s", (code) => {
    expect(isDatabaseUnavailable(withCode(code))).toBe(false);
  });

  it("is false for errors without a code", () => {
    expect(isDatabaseUnavailable(new Error("boom"))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});

describe("isWriteConflict", () => {
  it.each(["40P01", "40001"])("is true for %s, also as a cause", (code) => {
    expect(isWriteConflict(withCode(code))).toBe(true);
    expect(isWriteConflict(new Error("wrapped", { cause: withCode(code) }))).toBe(true);
  });

  it.each(["23505", "57P01", "40002", "ECONNRESET"])("is false for %s", (code) => {
    expect(isWriteConflict(withCode(code))).toBe(false);
  });
});
