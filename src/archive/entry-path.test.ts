import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkEntryName, resolveSymlink, symlinkOnPath, symlinksBelow } from "./entry-path.ts";

describe("checkEntryName", () => {
  it.each([
    ["Dockerfile", "Dockerfile"],
    ["./src/main.ts", "src/main.ts"],
    ["src//lib/", "src/lib"],
    ["./", ""],
    [".", ""],
  ])("accepts %j as %j", (name, path) => {
    expect(checkEntryName(name)).toEqual({ ok: true, path });
  });

  it.each([
    ["../etc/passwd", "escapes the context"],
    ["a/../../b", "escapes the context"],
    ["a/../b", "has a .. segment"],
    ["/etc/passwd", "is an absolute path"],
    ["C:/Windows", "is an absolute path"],
    ["c:evil", "is an absolute path"],
    ["..\\..\\x", "contains a backslash (a Windows path)"],
    ["a\0b", "contains a NUL byte"],
  ])("refuses %j: %s", (name, problem) => {
    expect(checkEntryName(name)).toEqual({ ok: false, problem });
  });

  it("never returns a path with an empty, '.' or '..' segment, or a leading slash", () => {
    const segment = fc.constantFrom("a", "b", ".", "..", "", "c d", "\\", "C:");
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), (segments) => {
        const result = checkEntryName(segments.join("/"));
        if (!result.ok || result.path === "") return;
        for (const part of result.path.split("/")) {
          expect(["", ".", ".."]).not.toContain(part);
        }
      }),
    );
  });
});

describe("symlinkOnPath", () => {
  const links = new Map([["a/link", "x"]]);
  it("finds the link itself or an ancestor, and nothing else", () => {
    expect(symlinkOnPath("a/link", links)).toBe("a/link");
    expect(symlinkOnPath("a/link/deeper/file", links)).toBe("a/link");
    expect(symlinkOnPath("a/linked", links)).toBeUndefined();
    expect(symlinkOnPath("a", links)).toBeUndefined();
  });
});

describe("resolveSymlink", () => {
  const none = new Map<string, string>();

  it("resolves relative targets from the link's folder", () => {
    expect(resolveSymlink("app/current", "releases/v2", none)).toEqual({
      ok: true,
      path: "app/releases/v2",
    });
    expect(resolveSymlink("app/up", "..", none)).toEqual({ ok: true, path: "" });
    expect(resolveSymlink("app/lib", "../shared/./lib", none)).toEqual({
      ok: true,
      path: "shared/lib",
    });
  });

  it("refuses absolute targets and climbs above the root", () => {
    expect(resolveSymlink("link", "/etc/shadow", none)).toEqual({ ok: false, problem: "outside" });
    expect(resolveSymlink("app/link", "../../etc", none)).toEqual({
      ok: false,
      problem: "outside",
    });
  });

  it("follows other symlinks, as the kernel would", () => {
    const links = new Map([
      ["x", "."],
      ["deep/up", "../.."],
      ["abs", "/tmp"],
    ]);
    expect(resolveSymlink("l1", "x/..", links)).toEqual({ ok: false, problem: "outside" });
    expect(resolveSymlink("l2", "deep/up", links)).toEqual({ ok: false, problem: "outside" });
    expect(resolveSymlink("l3", "abs/file", links)).toEqual({ ok: false, problem: "outside" });
    expect(resolveSymlink("l4", "x/x/x/file", links)).toEqual({ ok: true, path: "file" });
  });

  it("stops on loops", () => {
    const links = new Map([
      ["a", "b"],
      ["b", "a"],
    ]);
    expect(resolveSymlink("c", "a", links)).toEqual({ ok: false, problem: "loop" });
  });
});

describe("symlinksBelow", () => {
  it("re-keys the links under a folder and drops the others", () => {
    const links = new Map([
      ["repo/a", "b"],
      ["other", "x"],
      ["repository/c", "d"],
    ]);
    expect([...symlinksBelow(links, "repo")]).toEqual([["a", "b"]]);
    expect(symlinksBelow(links, "").size).toBe(3);
  });
});
