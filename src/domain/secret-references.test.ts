import { describe, expect, it } from "vitest";
import { containerOptionFields } from "./container-options.ts";
import { newImageSchema, specFields } from "./image-spec.ts";
import { registryHostOf, registryServer } from "./registry-host.ts";
import { secretFileIssues, secretNamesOf, secretReferences } from "./secret-references.ts";

describe("secret references in a spec", () => {
  it("takes {secret: name} as an env value, beside literals", () => {
    expect(specFields.env.parse({ A: 1, B: { secret: "db-password" } })).toEqual({
      A: "1",
      B: { secret: "db-password" },
    });
  });

  it("refuses a bad secret reference with the field path", () => {
    for (const value of [{ secret: "Bad Name" }, { secret: "x", extra: 1 }, { name: "x" }, []]) {
      const parsed = specFields.env.safeParse({ DB: value });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.path[0]).toBe("DB");
    }
  });

  it("mounts secrets by name or {name, target}, by default under /run/secrets", () => {
    expect(
      containerOptionFields.secrets.parse(["db", { name: "tls", target: "/etc/tls/key" }]),
    ).toEqual([
      { name: "db", target: "/run/secrets/db" },
      { name: "tls", target: "/etc/tls/key" },
    ]);
  });

  it("refuses relative, folder-like, dotted and repeated targets", () => {
    for (const target of ["run/x", "/run/secrets/", "/run/../etc/passwd", "/a/./b"]) {
      expect(containerOptionFields.secrets.safeParse([{ name: "db", target }]).success).toBe(false);
    }
    const twice = containerOptionFields.secrets.safeParse([
      "db",
      { name: "other", target: "/run/secrets/db" },
    ]);
    expect(twice.error?.issues[0]?.path).toEqual([1, "target"]);
  });

  it("lists every reference with its path, and the distinct names", () => {
    const spec = {
      env: { A: "x", B: { secret: "db" }, C: { secret: "api" } },
      secrets: [{ name: "db", target: "/run/secrets/db" }],
    };
    expect(secretReferences(spec)).toEqual([
      { name: "db", path: "env.B" },
      { name: "api", path: "env.C" },
      { name: "db", path: "secrets[0].name" },
    ]);
    expect(secretNamesOf(spec)).toEqual(["api", "db"]);
  });

  it("refuses files a read-only root filesystem or a tmpfs would refuse or hide", () => {
    const files = [{ name: "db", target: "/run/secrets/db" }];
    expect(secretFileIssues({ secrets: files, read_only_root_filesystem: true })[0]?.path).toBe(
      "secrets",
    );
    expect(secretFileIssues({ secrets: files, tmpfs: [{ target: "/run" }] })[0]?.path).toBe(
      "secrets[0].target",
    );
    expect(secretFileIssues({ secrets: files, tmpfs: [{ target: "/runner" }] })).toEqual([]);
    const schema = newImageSchema(10);
    const refused = schema.safeParse({
      name: "app",
      image: "nginx",
      secrets: ["db"],
      read_only_root_filesystem: true,
    });
    expect(refused.error?.issues.map((issue) => issue.path.join("."))).toEqual(["secrets"]);
  });
});

describe("registries", () => {
  it("finds the registry of a reference as Docker does", () => {
    expect(registryHostOf("nginx")).toBe("docker.io");
    expect(registryHostOf("team/app:1")).toBe("docker.io");
    expect(registryHostOf("127.0.0.1:5000/app:1")).toBe("127.0.0.1:5000");
    expect(registryHostOf("Registry.Example.com/team/app@sha256:abc")).toBe("registry.example.com");
    expect(registryHostOf("localhost/app")).toBe("localhost");
    expect(registryHostOf("index.docker.io/library/nginx")).toBe("docker.io");
  });

  it("takes a server as users write it, and refuses what is not a host", () => {
    expect(registryServer.parse("https://Registry.Example.com/")).toBe("registry.example.com");
    expect(registryServer.parse("127.0.0.1:5000")).toBe("127.0.0.1:5000");
    expect(registryServer.parse("index.docker.io")).toBe("docker.io");
    for (const bad of ["", "a b", "host/path", "-x.com", "x.com:port"]) {
      expect(registryServer.safeParse(bad).success).toBe(false);
    }
  });
});
