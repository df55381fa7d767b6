import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("uses the contract's defaults when nothing is set", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3003,
      databaseUrl: undefined,
      dockerHost: undefined,
      kafkaBrokers: undefined,
      kafkaTopic: "container-lifecycle",
      imageNamePrefix: "nvidia-app",
      orchestratorId: "orchestrator",
      healthIntervalSeconds: 60,
      healthRetentionDays: 7,
      logLevel: "info",
    });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "" }).port).toBe(3003);
  });

  it("parses brokers as a list", () => {
    expect(loadConfig({ KAFKA_BROKERS: "a:9092, b.example:9093" }).kafkaBrokers).toEqual([
      "a:9092",
      "b.example:9093",
    ]);
  });

  it.each([
    ["PORT", "abc", /PORT="abc" must be a whole number between 0 and 65535/],
    ["PORT", "70000", /PORT="70000"/],
    ["DATABASE_URL", "nonsense", /DATABASE_URL="nonsense" must be a postgres:\/\//],
    ["DATABASE_URL", "mysql://x@y/z", /DATABASE_URL=.* must be a postgres:\/\//],
    ["KAFKA_BROKERS", "localhost", /KAFKA_BROKERS=.*host:port/],
    ["LOG_LEVEL", "loud", /LOG_LEVEL="loud"/],
    ["IMAGE_NAME_PREFIX", "Bad Prefix", /IMAGE_NAME_PREFIX=/],
    ["DOCKER_HOST", "nowhere", /DOCKER_HOST="nowhere" must be unix:\/\//],
    ["HEALTH_INTERVAL_SECONDS", "0", /HEALTH_INTERVAL_SECONDS="0"/],
  ])("rejects %s=%s with one line naming it", (variable, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.split("\n")).toHaveLength(1);
  });

  it("reports every bad variable, one line each", () => {
    expect(() => loadConfig({ PORT: "x", LOG_LEVEL: "y" })).toThrow(/PORT[^\n]*\n[^\n]*LOG_LEVEL/);
  });

  it("never echoes the admin token", () => {
    expect(() => loadConfig({ ORCHESTRATOR_ADMIN_TOKEN: "short" })).toThrow(
      'ORCHESTRATOR_ADMIN_TOKEN="<hidden>" must be at least 16 characters',
    );
  });
});
