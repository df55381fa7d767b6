import { describe, expect, it } from "vitest";
import { resolveRegistrySettings } from "./registry-settings.ts";

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no ${path}`), { code: "ENOENT" });
};

describe("registry settings", () => {
  it("is off without REGISTRY_URL", () => {
    expect(resolveRegistrySettings({})).toEqual({ settings: undefined });
  });

  it("reads the host, a namespace and the credentials (the password also from a file)", () => {
    expect(
      resolveRegistrySettings({
        REGISTRY_URL: "https://Registry.Example.com:5000/team/apps/",
        REGISTRY_USERNAME: "ci",
        REGISTRY_PASSWORD: "pw",
      }),
    ).toEqual({
      settings: {
        server: "registry.example.com:5000",
        repositoryPrefix: "registry.example.com:5000/team/apps",
        username: "ci",
        password: "pw",
      },
    });
    expect(
      resolveRegistrySettings(
        {
          REGISTRY_URL: "127.0.0.1:5000",
          REGISTRY_USERNAME: "ci",
          REGISTRY_PASSWORD_FILE: "/run/secrets/registry",
        },
        () => "from-file\n",
      ),
    ).toMatchObject({ settings: { repositoryPrefix: "127.0.0.1:5000", password: "from-file" } });
    expect(resolveRegistrySettings({ REGISTRY_URL: "127.0.0.1:5000" })).toMatchObject({
      settings: { username: undefined, password: undefined },
    });
  });

  it("names each problem", () => {
    const problems = (variables: Parameters<typeof resolveRegistrySettings>[0]) => {
      const result = resolveRegistrySettings(variables, noFiles);
      return "problems" in result ? result.problems : [];
    };
    expect(problems({ REGISTRY_URL: "not a host" })[0]).toMatch(/^REGISTRY_URL="not a host"/);
    expect(problems({ REGISTRY_URL: "reg.example.com/Team" })[0]).toMatch(/namespace/);
    expect(problems({ REGISTRY_URL: "docker.io" })[0]).toMatch(/needs a namespace/);
    expect(problems({ REGISTRY_URL: "reg.example.com", REGISTRY_USERNAME: "ci" })).toEqual([
      "REGISTRY_USERNAME and REGISTRY_PASSWORD (or REGISTRY_PASSWORD_FILE) go together",
    ]);
    expect(problems({ REGISTRY_PASSWORD: "pw", REGISTRY_USERNAME: "ci" })).toEqual([
      "REGISTRY_USERNAME and REGISTRY_PASSWORD need REGISTRY_URL (where to push)",
    ]);
    expect(
      problems({
        REGISTRY_URL: "reg.example.com",
        REGISTRY_USERNAME: "ci",
        REGISTRY_PASSWORD_FILE: "/missing",
      })[0],
    ).toBe('REGISTRY_PASSWORD_FILE="/missing" cannot be read: ENOENT');
  });
});
