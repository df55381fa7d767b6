import { describe, expect, it } from "vitest";
import { dockerignoreMatcher } from "./context-entries.ts";

describe("dockerignoreMatcher", () => {
  it("keeps everything without patterns", () => {
    expect(dockerignoreMatcher([])("node_modules", true)).toBe("keep");
  });

  it("skips what the patterns name, as docker build does", () => {
    const verdict = dockerignoreMatcher(["node_modules", "*.log", "**/*.tmp", "docs/*"]);
    expect(verdict("node_modules", true)).toBe("skip");
    expect(verdict("app.log", false)).toBe("skip");
    expect(verdict("src/app.log", false)).toBe("keep"); // "*" stays in its folder
    expect(verdict("src/deep/x.tmp", false)).toBe("skip");
    expect(verdict("docs/readme.md", false)).toBe("skip");
    expect(verdict("docs", true)).toBe("keep");
    expect(verdict("src/main.ts", false)).toBe("keep");
  });

  it("always keeps the Dockerfile and .dockerignore", () => {
    const verdict = dockerignoreMatcher(["*"]);
    expect(verdict("Dockerfile", false)).toBe("keep");
    expect(verdict(".dockerignore", false)).toBe("keep");
    expect(verdict("other", false)).toBe("skip");
  });

  it("goes into an ignored folder only when an exception names something inside", () => {
    const verdict = dockerignoreMatcher(["vendor", "!vendor/keep", "build", "!*.md"]);
    expect(verdict("vendor", true)).toBe("descend");
    expect(verdict("vendor/keep", false)).toBe("keep");
    expect(verdict("vendor/drop", false)).toBe("skip");
    expect(verdict("build", true)).toBe("skip");
  });
});
