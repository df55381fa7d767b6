import { describe, expect, it } from "vitest";
import { dockerOptions, explainDockerError } from "./connection.ts";

describe("dockerOptions", () => {
  it.each([
    [undefined, { socketPath: "/var/run/docker.sock" }],
    ["unix:///run/user/1000/docker.sock", { socketPath: "/run/user/1000/docker.sock" }],
    ["/tmp/docker.sock", { socketPath: "/tmp/docker.sock" }],
    ["tcp://10.0.0.5:2375", { protocol: "http", host: "10.0.0.5", port: 2375 }],
    ["tcp://docker", { protocol: "http", host: "docker", port: 2375 }],
    [
      "ssh://deploy@build-host:2222",
      { protocol: "ssh", host: "build-host", port: 2222, username: "deploy" },
    ],
  ])("maps DOCKER_HOST=%s", (host, expected) => {
    expect(dockerOptions(host)).toEqual(expected);
  });

  it("explains an unreachable socket in one line", () => {
    const error = Object.assign(new Error("connect ENOENT /nope.sock"), { code: "ENOENT" });
    expect(explainDockerError(error, "unix:///nope.sock")).toBe(
      "Docker engine unreachable at unix:///nope.sock (ENOENT): is dockerd running and is the socket readable?",
    );
  });
});
