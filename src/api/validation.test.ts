import { describe, expect, it } from "vitest";
import { z } from "zod";
import { fieldPath, zodFieldErrors } from "./validation.ts";

describe("fieldPath", () => {
  it("names nested fields the way a client writes them", () => {
    expect(fieldPath(["min_instances"])).toBe("min_instances");
    expect(fieldPath(["env", "LOG_LEVEL"])).toBe("env.LOG_LEVEL");
    expect(fieldPath(["documents", 2, "spec", "tag"])).toBe("documents[2].spec.tag");
    expect(fieldPath([])).toBe("");
  });
});

describe("zodFieldErrors", () => {
  it("reports an unknown field at its own path", () => {
    const schema = z.strictObject({ spec: z.strictObject({ tag: z.string() }) });
    const result = schema.safeParse({ spec: { tag: "v1", colour: "red" } });
    expect(result.success).toBe(false);
    if (!result.success) {
      expect(zodFieldErrors(result.error)).toEqual([
        { path: "spec.colour", message: "unknown field" },
      ]);
    }
  });
});
