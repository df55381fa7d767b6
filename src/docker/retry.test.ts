import { describe, expect, it } from "vitest";
import { isTransientDockerError } from "./retry.ts";

const engineError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), {
    statusCode,
    json: { message },
  });

describe("isTransientDockerError", () => {
  it("retries what a moment fixes", () => {
    expect(isTransientDockerError(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(
      true,
    );
    expect(
      isTransientDockerError(engineError(500, "removal of container x is already in progress")),
    ).toBe(true);
    expect(
      isTransientDockerError(
        engineError(403, "endpoint with name shop-a1 already exists in network orch-u1"),
      ),
    ).toBe(true);
  });

  it("never retries what the request itself got wrong", () => {
    expect(isTransientDockerError(engineError(404, "No such image: nope:1"))).toBe(false);
    expect(isTransientDockerError(engineError(409, "Conflict. The container name is in use"))).toBe(
      false,
    );
    expect(isTransientDockerError(engineError(403, "operation not permitted"))).toBe(false);
  });
});
