import { describe, expect, it } from "vitest";
import { toProblem } from "./error-mapping.ts";

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe("toProblem", () => {
  it("answers a transaction that lost to a concurrent one (deadlock) with 409, not 500", () => {
    expect(toProblem(withCode("40P01"))?.code).toBe("conflict");
    expect(toProblem(new Error("in a transaction", { cause: withCode("40001") }))?.code).toBe(
      "conflict",
    );
  });

  it("answers a database that is away with 503, and leaves a bug to the 500 handler", () => {
    expect(toProblem(withCode("57P01"))?.code).toBe("unavailable");
    expect(toProblem(withCode("42P01"))).toBeUndefined();
  });
});
