import { describe, expect, it } from "vitest";
import type { CliConfig } from "./cli-config.ts";
import { resolveServer, selectContext } from "./settings-resolution.ts";

const prod = { server: "https://prod.example:3003/", token: "orc_prod" };
const config: CliConfig = {
  current_context: "prod",
  contexts: { prod, dev: { server: "http://dev:1" } },
};

describe("selectContext", () => {
  it("takes --context, then ORCHESTRATOR_CONTEXT, then the current one", () => {
    expect(selectContext(config, {}, {})?.name).toBe("prod");
    expect(selectContext(config, {}, { ORCHESTRATOR_CONTEXT: "dev" })?.name).toBe("dev");
    expect(selectContext(config, { context: "x" }, { ORCHESTRATOR_CONTEXT: "dev" })).toEqual({
      name: "x",
      context: undefined,
    });
    expect(selectContext({ current_context: null, contexts: {} }, {}, {})).toBeUndefined();
  });
});

describe("resolveServer", () => {
  it("uses the context when nothing else is given", () => {
    expect(resolveServer({}, {}, prod)).toEqual({
      url: "https://prod.example:3003",
      token: "orc_prod",
    });
  });

  it("lets the environment win over the context, and flags over the environment", () => {
    const environment = { ORCHESTRATOR_URL: "http://env:2", ORCHESTRATOR_TOKEN: "orc_env" };
    expect(resolveServer({}, environment, prod)).toEqual({ url: "http://env:2", token: "orc_env" });
    expect(
      resolveServer({ server: "http://flag:3", token: "orc_flag" }, environment, prod),
    ).toEqual({
      url: "http://flag:3",
      token: "orc_flag",
    });
    expect(resolveServer({}, { ORCHESTRATOR_TOKEN: "orc_env" }, prod).url).toBe(
      "https://prod.example:3003",
    );
  });

  it("never sends a context's token to another server", () => {
    expect(resolveServer({ server: "http://elsewhere:1" }, {}, prod)).toEqual({
      url: "http://elsewhere:1",
      token: undefined,
    });
    expect(
      resolveServer({}, { ORCHESTRATOR_URL: "http://elsewhere:1" }, prod).token,
    ).toBeUndefined();
  });

  it("falls back to the local default server", () => {
    expect(resolveServer({}, {}, undefined)).toEqual({
      url: "http://127.0.0.1:3003",
      token: undefined,
    });
    expect(resolveServer({}, { ORCHESTRATOR_ADMIN_TOKEN: "orc_admin" }, undefined).token).toBe(
      "orc_admin",
    );
  });
});
