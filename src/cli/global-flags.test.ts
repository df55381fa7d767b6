import { describe, expect, it } from "vitest";
import { splitGlobalFlags } from "./global-flags.ts";

describe("splitGlobalFlags", () => {
  it("takes the global flags from anywhere, in both spellings, and keeps the rest in order", () => {
    expect(
      splitGlobalFlags(["get", "--server", "http://a:1", "images", "--token=t1", "-o", "json"]),
    ).toEqual({
      flags: { server: "http://a:1", token: "t1" },
      rest: ["get", "images", "-o", "json"],
    });
    expect(splitGlobalFlags(["--context", "prod", "version"])).toEqual({
      flags: { context: "prod" },
      rest: ["version"],
    });
  });

  it("leaves everything after -- alone", () => {
    expect(splitGlobalFlags(["logs", "--", "--token", "x"])).toEqual({
      flags: {},
      rest: ["logs", "--", "--token", "x"],
    });
  });

  it("refuses a flag without a value or given twice", () => {
    expect(() => splitGlobalFlags(["get", "--server"])).toThrow("--server needs a value");
    expect(() => splitGlobalFlags(["--token=", "get"])).toThrow("--token needs a value");
    expect(() => splitGlobalFlags(["--token", "a", "--token", "b"])).toThrow("given twice");
  });

  it("does not take a flag that only starts like one", () => {
    expect(splitGlobalFlags(["get", "--servers", "x"]).rest).toEqual(["get", "--servers", "x"]);
  });
});
