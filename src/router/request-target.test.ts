import { describe, expect, it } from "vitest";
import { requestTarget } from "./request-target.ts";

describe("requestTarget", () => {
  const host = ["Host", "shop.test"];

  it("keeps origin form and the request's Host", () => {
    expect(requestTarget("/x?y=1", host)).toEqual({ ok: true, host: undefined, path: "/x?y=1" });
    expect(requestTarget("*", host)).toEqual({ ok: true, host: undefined, path: "*" });
  });

  it("routes absolute form by its authority, without userinfo, in origin form", () => {
    expect(requestTarget("HTTP://user@Other.Test:8080/a%20b?c", host)).toEqual({
      ok: true,
      host: "other.test:8080",
      path: "/a%20b?c",
    });
  });

  it("refuses a second Host, whatever its case", () => {
    expect(requestTarget("/", ["Host", "a.test", "HOST", "b.test"])).toMatchObject({
      ok: false,
      code: "bad_host",
    });
  });

  it.each(["http://shop.test:99999/", "ftp://shop.test/", "shop.test/x", "http://"])(
    "refuses %s, a target that is neither a path nor an http URL",
    (target) => {
      expect(requestTarget(target, host)).toMatchObject({ ok: false, code: "bad_request_target" });
    },
  );
});
