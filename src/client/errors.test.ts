import { describe, expect, it } from "vitest";
import { OrchestratorError } from "./errors.ts";

const problem = (code: string, instance: string) =>
  ({ type: "t", title: "t", status: 404, detail: "d", instance, code }) as never;

describe("OrchestratorError", () => {
  it("answers to its code and to the earlier library's name of it", () => {
    const error = new OrchestratorError(409, "port_in_use", "taken", problem("port_in_use", "/"));
    expect(error.is("port_in_use")).toBe(true);
    expect(error.is("PORT_IN_USE")).toBe(true);
    expect(error.legacyCode).toBe("PORT_IN_USE");
    expect(error.is("IMAGE_NOT_FOUND")).toBe(false);
  });

  it("names a missing image IMAGE_NOT_FOUND, and other missing things NOT_FOUND", () => {
    const image = new OrchestratorError(
      404,
      "not_found",
      "x",
      problem("not_found", "/api/images/7"),
    );
    expect(image.legacyCode).toBe("IMAGE_NOT_FOUND");
    expect(image.is("IMAGE_NOT_FOUND")).toBe(true);
    expect(image.is("NOT_FOUND")).toBe(true);
    const token = new OrchestratorError(
      404,
      "not_found",
      "x",
      problem("not_found", "/api/tokens/7"),
    );
    expect(token.legacyCode).toBe("NOT_FOUND");
    expect(token.is("IMAGE_NOT_FOUND")).toBe(false);
  });
});
