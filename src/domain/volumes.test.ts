import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { zodFieldErrors } from "../api/validation.ts";
import { containerOptionDefaults, containerOptionsForHash } from "./container-options.ts";
import { imagePatchSchema, newImageSchema } from "./image-spec.ts";
import {
  bindMountIssues,
  isUnderAnyPrefix,
  namedVolumesOf,
  normalizeAbsolutePath,
  volumeDockerName,
  volumeNamePattern,
} from "./volumes.ts";

const schema = newImageSchema(100);

/** The field errors a new image with these volumes gets (paths as the API shows them). */
function errorsOf(volumes: unknown, extra: Record<string, unknown> = {}) {
  const parsed = schema.safeParse({ name: "app", image: "nginx:1", volumes, ...extra });
  return parsed.success ? [] : zodFieldErrors(parsed.error);
}

describe("volumes in a spec", () => {
  it("takes named volumes and host folders, canonical: read_only filled, paths normalised", () => {
    const parsed = schema.parse({
      name: "app",
      image: "nginx:1",
      volumes: [
        { type: "volume", source: "data", target: "/var/lib/x/" },
        { type: "bind", source: "/srv/shared/../data//", target: "/mnt/./in", read_only: true },
      ],
    });
    expect(parsed.volumes).toEqual([
      { type: "volume", source: "data", target: "/var/lib/x", read_only: false },
      { type: "bind", source: "/srv/data", target: "/mnt/in", read_only: true },
    ]);
    expect(schema.parse({ name: "app", image: "nginx:1" }).volumes).toEqual([]);
  });

  it.each([
    [[{ type: "volume", source: "data", target: "relative" }], "volumes[0].target", "absolute"],
    [
      [
        { type: "volume", source: "a", target: "/data" },
        { type: "volume", source: "b", target: "/data/" },
      ],
      "volumes[1].target",
      "mounted twice",
    ],
    [[{ type: "volume", source: "../etc", target: "/x" }], "volumes[0].source", "volume name"],
    [[{ type: "volume", source: "a/b", target: "/x" }], "volumes[0].source", "volume name"],
    [[{ type: "volume", source: "", target: "/x" }], "volumes[0].source", "volume name"],
    [[{ type: "volume", source: "x".repeat(65), target: "/x" }], "volumes[0].source", "volume"],
    [[{ type: "bind", source: "relative/dir", target: "/x" }], "volumes[0].source", "absolute"],
    [[{ type: "tmpfs", target: "/x" }], "volumes[0].type", "tmpfs field"],
    [[{ source: "data", target: "/x" }], "volumes[0].type", '"volume" or "bind"'],
    [[{ type: "volume", source: "data", target: "/" }], "volumes[0].target", "root"],
    [[{ type: "volume", source: "data", target: "/proc/x" }], "volumes[0].target", "/proc"],
    [[{ type: "volume", source: "data", target: "/a/../sys" }], "volumes[0].target", "/sys"],
    [[{ type: "volume", source: "d", target: "/x", read_only: "yes" }], "volumes[0].read_only", ""],
    [[{ type: "volume", source: "d", target: "/x", size: "1g" }], "volumes[0].size", "unknown"],
    ["data:/x", "volumes", "list"],
    [
      Array.from({ length: 33 }, (_, index) => ({
        type: "volume",
        source: `v${index}`,
        target: `/v${index}`,
      })),
      "volumes",
      "at most 32",
    ],
  ])("refuses %j at %s", (volumes, path, message) => {
    const errors = errorsOf(volumes);
    expect(errors.map((error) => error.path)).toContain(path);
    expect(errors.find((error) => error.path === path)?.message).toContain(message);
  });

  it("refuses a volume where a tmpfs is mounted", () => {
    expect(
      errorsOf([{ type: "volume", source: "data", target: "/scratch/" }], {
        tmpfs: ["/scratch"],
      }),
    ).toEqual([{ path: "volumes[0].target", message: "/scratch is a tmpfs mount already" }]);
  });

  it("takes volumes in a change, validated the same way", () => {
    expect(imagePatchSchema.safeParse({ volumes: [] }).success).toBe(true);
    const bad = imagePatchSchema.safeParse({ volumes: [{ type: "volume", source: "x" }] });
    expect(bad.success).toBe(false);
  });

  it("puts volumes in the spec hash only when there are some", () => {
    expect(containerOptionsForHash(containerOptionDefaults)).toEqual({});
    const volumes = [
      { type: "volume" as const, source: "data", target: "/data", read_only: false },
    ];
    expect(containerOptionsForHash({ ...containerOptionDefaults, volumes })).toEqual({ volumes });
  });
});

describe("normalizeAbsolutePath", () => {
  it.each([
    ["/", "/"],
    ["/a/b/", "/a/b"],
    ["//a///b", "/a/b"],
    ["/a/./b/../c", "/a/c"],
    ["/../../etc", "/etc"],
    ["/srv/data/..", "/srv"],
  ])("%s → %s", (path, normalised) => {
    expect(normalizeAbsolutePath(path)).toBe(normalised);
  });

  it("is idempotent and never leaves . or .. segments", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("a", "b", ".", "..", "", "c.d"), { maxLength: 12 }),
        (parts) => {
          const once = normalizeAbsolutePath(`/${parts.join("/")}`);
          expect(normalizeAbsolutePath(once)).toBe(once);
          expect(once.split("/").slice(1)).not.toContain("..");
          expect(once.split("/").slice(1)).not.toContain(".");
        },
      ),
    );
  });
});

describe("bind mounts", () => {
  const bind = (source: string) => ({
    type: "bind" as const,
    source,
    target: "/mnt",
    read_only: false,
  });
  const allowlist = ["/srv/shared", "/data"];

  it("matches allowlist prefixes by whole path components", () => {
    expect(isUnderAnyPrefix("/srv/shared", allowlist)).toBe(true);
    expect(isUnderAnyPrefix("/srv/shared/a/b", allowlist)).toBe(true);
    expect(isUnderAnyPrefix("/srv/shared-other", allowlist)).toBe(false);
    expect(isUnderAnyPrefix("/srv", allowlist)).toBe(false);
    expect(isUnderAnyPrefix("/anything", ["/"])).toBe(true);
    expect(isUnderAnyPrefix("/data", [])).toBe(false);
  });

  it("are the admin's, under the allowlist only, refused with the mount's path", () => {
    const volumes = [
      { type: "volume" as const, source: "cache", target: "/cache", read_only: false },
      bind("/srv/shared/www"),
      bind("/etc"),
    ];
    expect(bindMountIssues(volumes, { isAdmin: true, allowlist })).toEqual([
      {
        path: "volumes[2].source",
        message: expect.stringContaining("outside BIND_MOUNT_ALLOWLIST"),
      },
    ]);
    expect(bindMountIssues(volumes, { isAdmin: false, allowlist }).map((i) => i.path)).toEqual([
      "volumes[1].type",
      "volumes[2].type",
    ]);
    expect(bindMountIssues([bind("/srv/shared")], { isAdmin: true, allowlist: [] })).toEqual([
      { path: "volumes[0].source", message: expect.stringContaining("unset") },
    ]);
    expect(bindMountIssues(undefined, { isAdmin: false, allowlist })).toEqual([]);
  });

  it("sees through .. (the schema resolves it before the allowlist is asked)", () => {
    const [escaping] = schema.parse({
      name: "app",
      image: "nginx:1",
      volumes: [bind("/srv/shared/../../etc")],
    }).volumes;
    expect(escaping?.source).toBe("/etc");
    expect(
      bindMountIssues(escaping === undefined ? [] : [escaping], { isAdmin: true, allowlist }),
    ).toHaveLength(1);
  });
});

describe("volume names", () => {
  it("lists each named volume of a spec once, never host folders", () => {
    expect(
      namedVolumesOf([
        { type: "volume", source: "a", target: "/a", read_only: false },
        { type: "volume", source: "a", target: "/b", read_only: true },
        { type: "bind", source: "/srv", target: "/c", read_only: false },
      ]),
    ).toEqual(["a"]);
  });

  it("gives two tenants' volumes different Docker names whatever they are called", () => {
    const name = fc.stringMatching(volumeNamePattern);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        name,
        name,
        (leftUser, rightUser, leftName, rightName) => {
          fc.pre(leftUser !== rightUser);
          expect(volumeDockerName("orch", leftUser, leftName)).not.toBe(
            volumeDockerName("orch", rightUser, rightName),
          );
        },
      ),
    );
    expect(volumeDockerName("orch", 12, "data")).toBe("orch-u12-data");
    expect(volumeDockerName("orch", 1, "2-data")).not.toBe(volumeDockerName("orch", 12, "data"));
  });
});
