import { describe, expect, it } from "vitest";
import { presentFieldErrors, specInputOfForm } from "./upload-fields.ts";

const form = (entries: Array<[string, string]>) => {
  const fields = new Map<string, string[]>();
  for (const [name, value] of entries) fields.set(name, [...(fields.get(name) ?? []), value]);
  return fields;
};

describe("specInputOfForm", () => {
  it("reads the fields as the JSON body would carry them", () => {
    const { input, errors } = specInputOfForm(
      form([
        ["name", "shop"],
        ["container_port", "8080"],
        ["desired_instances", "2"],
        ["app_hostname", ""],
        ["env", '{"LOG_LEVEL":"info"}'],
        ["health_check", '{"http_path":"/"}'],
      ]),
    );
    expect(errors).toEqual([]);
    expect(input).toEqual({
      name: "shop",
      container_port: "8080",
      desired_instances: "2",
      app_hostname: null,
      env: { LOG_LEVEL: "info" },
      health_check: { http_path: "/" },
    });
  });

  it("reads the container options as JSON where they are lists, objects or booleans", () => {
    const { input, errors } = specInputOfForm(
      form([
        ["command", '["node","server.js"]'],
        ["ports", '[{"container":53,"protocol":"udp"}]'],
        ["labels", '{"team":"web"}'],
        ["init", "true"],
        ["working_dir", "/app"],
        ["user", ""],
        ["stop_grace_period", "30s"],
        ["networks", '["backend"]'],
        ["depends_on", '["db",{"name":"cache","condition":"started"}]'],
        ["placement", '{"constraints":["node.role==manager"],"spread":"node.labels.zone"}'],
      ]),
    );
    expect(errors).toEqual([]);
    expect(input).toEqual({
      command: ["node", "server.js"],
      ports: [{ container: 53, protocol: "udp" }],
      labels: { team: "web" },
      init: true,
      working_dir: "/app",
      user: null,
      stop_grace_period: "30s",
      networks: ["backend"],
      depends_on: ["db", { name: "cache", condition: "started" }],
      placement: { constraints: ["node.role==manager"], spread: "node.labels.zone" },
    });
    expect(presentFieldErrors(form([["command", '["node","server.js"]']]))).toEqual([]);
    expect(presentFieldErrors(form([["command", "node server.js"]]))).toEqual([
      { path: "command", message: expect.stringContaining("is not valid JSON") },
    ]);
    expect(presentFieldErrors(form([["init", "yes"]]))).toEqual([
      { path: "init", message: expect.stringContaining("is not valid JSON") },
    ]);
  });

  it("reads pool, autoscale, secrets and rollout as JSON, and names a bad value's path", () => {
    const { input, errors } = specInputOfForm(
      form([
        ["pool", '{"min_idle":1,"max":4}'],
        ["autoscale", '{"metric":"cpu","target":70}'],
        ["secrets", '["db-password"]'],
        ["rollout", '{"max_surge":1,"max_unavailable":0}'],
      ]),
    );
    expect(errors).toEqual([]);
    expect(input).toEqual({
      pool: { min_idle: 1, max: 4 },
      autoscale: { metric: "cpu", target: 70 },
      secrets: ["db-password"],
      rollout: { max_surge: 1, max_unavailable: 0 },
    });
    expect(specInputOfForm(form([["autoscale", ""]])).input).toEqual({ autoscale: null });
    expect(presentFieldErrors(form([["autoscale", '{"metric":"cpu","target":-1}']]))).toEqual([
      { path: "autoscale.target", message: expect.any(String) },
    ]);
    expect(presentFieldErrors(form([["pool", "min_idle=1"]]))).toEqual([
      { path: "pool", message: expect.stringContaining("is not valid JSON") },
    ]);
  });

  it("reads volumes as JSON, and names a bad one by its path in the list", () => {
    const volumes = '[{"type":"volume","source":"data","target":"/data"}]';
    const { input, errors } = specInputOfForm(form([["volumes", volumes]]));
    expect(errors).toEqual([]);
    expect(input).toEqual({ volumes: [{ type: "volume", source: "data", target: "/data" }] });
    expect(
      presentFieldErrors(
        form([
          [
            "volumes",
            '[{"type":"volume","source":"a","target":"/a"},{"type":"volume","source":"b","target":"b"}]',
          ],
        ]),
      ),
    ).toEqual([{ path: "volumes[1].target", message: "must be an absolute path" }]);
  });

  it("takes env as KEY=VALUE entries, per field or per line, values keeping their '='", () => {
    expect(
      specInputOfForm(
        form([
          ["env", "A=1"],
          ["env", "B=x=y"],
        ]),
      ).input.env,
    ).toEqual({
      A: "1",
      B: "x=y",
    });
    expect(specInputOfForm(form([["env", "A=1\nB=2\n"]])).input.env).toEqual({ A: "1", B: "2" });
  });

  it("names what it cannot read", () => {
    const { errors } = specInputOfForm(
      form([
        ["nmae", "shop"],
        ["tag", "v1"],
        ["tag", "v2"],
        ["env", "{not json"],
        ["health_check", "{"],
      ]),
    );
    expect(errors.map((error) => error.path)).toEqual(["nmae", "tag", "env", "health_check"]);
    expect(errors[0]?.message).toBe("unknown field");
    expect(errors[1]?.message).toBe("given more than once");
  });

  it("refuses the NUL character in any field, also inside env JSON", () => {
    const { input, errors } = specInputOfForm(
      form([
        ["name", "sh\u0000op"],
        ["env", '{"A":"x\\u0000y"}'],
        ["health_check", '{"http_path":"/\\u0000"}'],
        ["tag", "v1"],
      ]),
    );
    expect(errors.map((error) => error.path)).toEqual(["name", "env", "health_check"]);
    expect(errors[0]?.message).toMatch(/NUL/);
    expect(input).toEqual({ tag: "v1" });
  });
});

describe("presentFieldErrors", () => {
  it("accepts good fields and does not ask for missing ones", () => {
    expect(
      presentFieldErrors(
        form([
          ["tag", "v1"],
          ["min_instances", "0"],
        ]),
      ),
    ).toEqual([]);
  });

  it("refuses bad values by their field", () => {
    const errors = presentFieldErrors(
      form([
        ["name", "Bad Name"],
        ["container_port", "70000"],
        ["memory_limit", "lots"],
        ["env", "1BAD=x"],
        ["networks", '["backend","backend"]'],
        ["depends_on", '[{"name":"db","condition":"ready"}]'],
        ["placement", '{"constraints":["node.role==manager","node.zone==a"]}'],
      ]),
    );
    expect(errors.map((error) => error.path)).toEqual([
      "name",
      "container_port",
      "memory_limit",
      "env.1BAD",
      "networks[1]",
      "depends_on[0].condition",
      "placement.constraints[1]",
    ]);
  });
});
