import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * What the service loads at start stays what it needs: dependencies of features it never uses at
 * idle load when first used, so they cost no memory until then (bench/startup's idle RSS).
 * - @grpc/grpc-js (+ protobufjs, @grpc/proto-loader): dockerode's BuildKit session, which we
 *   never open (patches/dockerode+*.patch makes its require lazy);
 * - ssh2: docker-modem's ssh:// transport, only for such a DOCKER_HOST (patches/docker-modem+*);
 * - protobufjs: BuildKit's trace messages, on a build's first (src/docker/buildkit-trace.ts).
 */
const notAtStart = ["@grpc/grpc-js", "@grpc/proto-loader", "protobufjs", "ssh2"];

describe("dependencies loaded at start", () => {
  it("the service's whole module graph loads none of the lazily loaded ones", () => {
    const root = fileURLToPath(new URL("./composition-root.ts", import.meta.url));
    const script = `
      await import(${JSON.stringify(root)});
      const { createRequire } = await import("node:module");
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));
    `;
    const child = spawnSync(
      process.execPath,
      ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", script],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(child.stderr).toBe("");
    const loaded = JSON.parse(child.stdout) as string[];
    // The check itself sees CommonJS dependencies (dockerode is one).
    expect(loaded.some((file) => file.includes("/node_modules/dockerode/"))).toBe(true);
    for (const name of notAtStart) {
      expect(loaded.filter((file) => file.includes(`/node_modules/${name}/`))).toEqual([]);
    }
    // A process loading the whole graph: 2 s idle, past vitest's default 5 s on a busy machine
    // (it failed so beside a CI run). As long as the child's own deadline.
  }, 120_000);
});
