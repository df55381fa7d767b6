import { describe, expect, it } from "vitest";
import { createBuiltImageRegistry } from "./built-image-registry.ts";

/** Records what the registry asks of the engine (the engine itself: test/builds/registry-push). */
function recordingBuilder() {
  const calls: string[] = [];
  return {
    calls,
    builder: {
      tag: async (source: string, target: string) => {
        calls.push(`tag ${source} ${target}`);
      },
      untag: async (reference: string) => {
        calls.push(`untag ${reference}`);
      },
      push: async (reference: string, auth: { server: string }) => {
        calls.push(`push ${reference} ${"username" in auth ? "with" : "without"} credentials`);
        return `sha256:${"a".repeat(64)}`;
      },
      pull: async (reference: string, auth?: unknown) => {
        calls.push(`pull ${reference} ${auth === undefined ? "without" : "with"} credentials`);
      },
    },
  };
}

const settings = {
  server: "reg.example.com:5000",
  repositoryPrefix: "reg.example.com:5000/team",
  username: "ci",
  password: "pw",
};
const local = "orch-u3-i7-0123456789abcdef0123456789abcdef:v1";
const pushed = `reg.example.com:5000/team/${local}@sha256:${"a".repeat(64)}`;

describe("the built-image registry", () => {
  it("pushes under REGISTRY_URL with the build's own name, and leaves only that name locally", async () => {
    const { calls, builder } = recordingBuilder();
    expect(await createBuiltImageRegistry(builder, settings).push(local)).toBe(pushed);
    expect(calls).toEqual([
      `tag ${local} reg.example.com:5000/team/${local}`,
      `push reg.example.com:5000/team/${local} with credentials`,
      `untag reg.example.com:5000/team/${local}`,
    ]);
  });

  it("pulls a build back by its digest, only for the name and tag it was pushed under", async () => {
    const { calls, builder } = recordingBuilder();
    const registry = createBuiltImageRegistry(builder, settings);
    const byDigest = `reg.example.com:5000/team/${local.replace(/:v1$/, "")}@sha256:${"a".repeat(64)}`;
    expect(await registry.restore(pushed, local)).toBe(true);
    expect(calls).toEqual([`pull ${byDigest} with credentials`, `tag ${byDigest} ${local}`]);

    calls.length = 0;
    expect(await registry.restore(pushed, local.replace(/:v1$/, ":v2"))).toBe(false);
    expect(await registry.restore("elsewhere/x@sha256:00", local)).toBe(false);
    expect(await registry.restore("no-digest", local)).toBe(false);
    expect(calls).toEqual([]);
  });

  it("pushes anonymously without credentials", async () => {
    const { calls, builder } = recordingBuilder();
    await createBuiltImageRegistry(builder, {
      ...settings,
      username: undefined,
      password: undefined,
    }).push(local);
    expect(calls[1]).toBe(`push reg.example.com:5000/team/${local} without credentials`);
  });
});
