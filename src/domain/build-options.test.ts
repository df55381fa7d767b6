import { describe, expect, it } from "vitest";
import {
  buildOptionDefaults,
  buildOptionsSchema,
  buildSettingsHash,
  isReservedBuildArg,
} from "./build-options.ts";

const issuesOf = (value: unknown) => {
  const parsed = buildOptionsSchema.safeParse(value);
  return parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({
        path: issue.path.join("."),
        // As the API and the files report a bad key: its own message.
        message: issue.code === "invalid_key" ? (issue.issues[0]?.message ?? "") : issue.message,
      }));
};

describe("build options", () => {
  it("fills the defaults and gives canonical values", () => {
    expect(buildOptionsSchema.parse({})).toEqual(buildOptionDefaults);
    expect(
      buildOptionsSchema.parse({
        args: { VERSION: 2, DEBUG: true, NAME: "shop" },
        target: "Runtime",
        platform: " Linux/AMD64 ",
        no_cache: true,
      }),
    ).toEqual({
      args: { VERSION: "2", DEBUG: "true", NAME: "shop" },
      target: "runtime",
      platform: "linux/amd64",
      no_cache: true,
    });
  });

  it("refuses bad values with the field path", () => {
    expect(issuesOf({ args: { "1BAD": "x" } })[0]?.path).toBe("args.1BAD");
    expect(issuesOf({ args: { BUILDKIT_SYNTAX: "evil/frontend" } })).toEqual([
      {
        path: "args.BUILDKIT_SYNTAX",
        message: "is reserved: BUILDKIT_* build args are set by the orchestrator",
      },
    ]);
    expect(issuesOf({ args: { buildkit_cache_mount_ns: "other" } })[0]?.path).toBe(
      "args.buildkit_cache_mount_ns",
    );
    expect(issuesOf({ args: { A: { nested: 1 } } })[0]?.path).toBe("args.A");
    expect(issuesOf({ args: { A: "x\0y" } })[0]?.message).toBe("must not contain NUL");
    expect(issuesOf({ target: "-stage" })[0]?.path).toBe("target");
    expect(issuesOf({ platform: "amd64" })[0]?.path).toBe("platform");
    expect(issuesOf({ no_cache: "yes" })[0]?.path).toBe("no_cache");
    expect(buildOptionsSchema.safeParse({ cache: true }).error?.issues[0]).toMatchObject({
      code: "unrecognized_keys",
      keys: ["cache"],
    });
    expect(issuesOf("args")[0]?.message).toBe(
      "must be an object {args, target, platform, no_cache}",
    );
  });

  it("knows BuildKit's own args in any case", () => {
    expect(isReservedBuildArg("BUILDKIT_SYNTAX")).toBe(true);
    expect(isReservedBuildArg("Buildkit_cache_mount_ns")).toBe(true);
    expect(isReservedBuildArg("BUILD_KIT")).toBe(false);
  });

  it("hashes what is built from, not how: none for the defaults, no_cache left out", () => {
    expect(buildSettingsHash(buildOptionDefaults)).toBeUndefined();
    expect(buildSettingsHash({ ...buildOptionDefaults, no_cache: true })).toBeUndefined();
    const withArg = buildSettingsHash({ ...buildOptionDefaults, args: { A: "1" } });
    expect(withArg).toMatch(/^[0-9a-f]{16}$/);
    expect(buildSettingsHash({ ...buildOptionDefaults, args: { A: "1" }, no_cache: true })).toBe(
      withArg,
    );
    expect(buildSettingsHash({ ...buildOptionDefaults, args: { A: "2" } })).not.toBe(withArg);
    expect(buildSettingsHash({ ...buildOptionDefaults, target: "runtime" })).not.toBe(
      buildSettingsHash({ ...buildOptionDefaults, platform: "linux/amd64" }),
    );
  });
});
