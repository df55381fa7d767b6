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

  it("runs containers unless RUNTIME=swarm asks for Swarm services", () => {
    expect(loadConfig({}).runtime).toBe("docker");
    expect(loadConfig({ RUNTIME: "swarm" }).runtime).toBe("swarm");
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "" }).port).toBe(3003);
  });

  it("probes published ports at ADVERTISE_HOST unless PROBE_HOST says where they answer", () => {
    expect(loadConfig({}).probeHost).toBe("127.0.0.1");
    expect(loadConfig({ ADVERTISE_HOST: "10.0.0.5" }).probeHost).toBe("10.0.0.5");
    const inCompose = loadConfig({
      ADVERTISE_HOST: "10.0.0.5",
      PROBE_HOST: "host.docker.internal",
    });
    expect(inCompose).toMatchObject({
      advertiseHost: "10.0.0.5",
      probeHost: "host.docker.internal",
    });
  });

  it("parses brokers as a list", () => {
    expect(loadConfig({ KAFKA_BROKERS: "a:9092, b.example:9093" }).kafkaBrokers).toEqual([
      "a:9092",
      "b.example:9093",
    ]);
  });

  it("reads ROUTER_METRICS_URL as a comma-separated list of routers, none when unset", () => {
    expect(loadConfig({}).routerMetricsUrls).toEqual([]);
    expect(
      loadConfig({ ROUTER_METRICS_URL: "http://10.0.0.1:8080/metrics" }).routerMetricsUrls,
    ).toEqual(["http://10.0.0.1:8080/metrics"]);
    expect(
      loadConfig({
        ROUTER_METRICS_URL: " http://10.0.0.1:8080/metrics , https://r2.internal/metrics,",
      }).routerMetricsUrls,
    ).toEqual(["http://10.0.0.1:8080/metrics", "https://r2.internal/metrics"]);
  });

  it("names the bad URL of a ROUTER_METRICS_URL list", () => {
    expect(() =>
      loadConfig({ ROUTER_METRICS_URL: "http://10.0.0.1:8080/metrics,r2.internal:8080/metrics" }),
    ).toThrow(
      /ROUTER_METRICS_URL=.* has "r2\.internal:8080\/metrics", which is not an http\(s\) URL/,
    );
    expect(() => loadConfig({ ROUTER_METRICS_URL: " , " })).toThrow(
      /ROUTER_METRICS_URL=" , " must name at least one URL/,
    );
  });

  it("reads BIND_MOUNT_ALLOWLIST as normalised absolute folders, none when unset", () => {
    expect(loadConfig({}).bindMountAllowlist).toEqual([]);
    expect(
      loadConfig({ BIND_MOUNT_ALLOWLIST: " /srv/shared/ , /data/a/../b,/" }).bindMountAllowlist,
    ).toEqual(["/srv/shared", "/data/b", "/"]);
  });

  it.each([
    ["BIND_MOUNT_ALLOWLIST", "srv/data", /BIND_MOUNT_ALLOWLIST=.*absolute host path/],
    ["PORT", "abc", /PORT="abc" must be a whole number between 0 and 65535/],
    ["PORT", "70000", /PORT="70000"/],
    ["DATABASE_URL", "nonsense", /DATABASE_URL="nonsense" must be a postgres:\/\//],
    ["DATABASE_URL", "mysql://x@y/z", /DATABASE_URL=.* must be a postgres:\/\//],
    ["KAFKA_BROKERS", "localhost", /KAFKA_BROKERS=.*host:port/],
    ["LOG_LEVEL", "loud", /LOG_LEVEL="loud"/],
    ["RUNTIME", "kubernetes", /RUNTIME="kubernetes" must be "docker" or "swarm"/],
    ["IMAGE_NAME_PREFIX", "Bad Prefix", /IMAGE_NAME_PREFIX=/],
    ["DOCKER_HOST", "nowhere", /DOCKER_HOST="nowhere" must be unix:\/\//],
    ["HEALTH_INTERVAL_SECONDS", "0", /HEALTH_INTERVAL_SECONDS="0"/],
    ["KAFKA_SSL", "yes", /KAFKA_SSL="yes" must be true or false/],
    [
      "KAFKA_SASL_MECHANISM",
      "gssapi",
      /KAFKA_SASL_MECHANISM="gssapi" must be plain, scram-sha-256 or scram-sha-512/,
    ],
    ["KAFKA_CLIENT_ID", "a b", /KAFKA_CLIENT_ID="a b" must be 1-249 letters/],
    [
      "KAFKA_SSL_CA_FILE",
      "/ca.pem",
      /KAFKA_SSL_CA_FILE="\/ca.pem" is set but KAFKA_SSL is not true/,
    ],
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

  it("reads ROUTER_METRICS_TOKEN, a token of its own, and never echoes it", () => {
    expect(loadConfig({}).routerMetricsToken).toBeUndefined();
    const token = "router-scrape-token-0123";
    expect(loadConfig({ ROUTER_METRICS_TOKEN: token }).routerMetricsToken).toBe(token);
    expect(loadConfig({ ROUTER_METRICS_TOKEN: token }).metricsToken).toBeUndefined();
    expect(() => loadConfig({ ROUTER_METRICS_TOKEN: "short" })).toThrow(
      'ROUTER_METRICS_TOKEN="<hidden>" must be at least 16 characters',
    );
  });

  it("refuses a token no bearer header could carry, for each token setting, without echoing it", () => {
    for (const name of ["ORCHESTRATOR_ADMIN_TOKEN", "METRICS_TOKEN", "ROUTER_METRICS_TOKEN"]) {
      expect(() => loadConfig({ [name]: "a token with spaces in it" })).toThrow(
        `${name}="<hidden>" must be letters, digits and . _ ~ + / = - only`,
      );
      expect(() => loadConfig({ [name]: "x".repeat(513) })).toThrow(
        `${name}="<hidden>" must be at most 512 characters`,
      );
      expect(() => loadConfig({ [name]: "orc_Abc-123_xyz.~+/=" })).not.toThrow();
    }
  });

  it("never echoes the admin token", () => {
    expect(() => loadConfig({ ORCHESTRATOR_ADMIN_TOKEN: "short" })).toThrow(
      'ORCHESTRATOR_ADMIN_TOKEN="<hidden>" must be at least 16 characters',
    );
  });

  it("reads the Kafka connection settings: client id, TLS, SASL (case-insensitive mechanism)", () => {
    const config = loadConfig({
      KAFKA_BROKERS: "broker.example:9093",
      KAFKA_CLIENT_ID: "orchestrator-eu",
      KAFKA_SSL: "TRUE",
      KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
      KAFKA_SASL_USERNAME: "svc",
      KAFKA_SASL_PASSWORD: "hunter2",
    });
    expect(config.kafkaConnection.clientId).toBe("orchestrator-eu");
    expect(config.kafkaConnection.tls).toEqual({ ca: undefined, clientCertificate: undefined });
    expect(config.kafkaConnection.sasl).toMatchObject({
      mechanism: "scram-sha-512",
      username: "svc",
    });
    expect(config.kafkaConnection.sasl?.password.reveal()).toBe("hunter2");
    expect(JSON.stringify(config)).not.toContain("hunter2");
    expect(loadConfig({ ORCHESTRATOR_ID: "orch-7" }).kafkaConnection.clientId).toBe(
      "orchestrator-orch-7",
    );
  });

  it("stops on a bad combination with one line naming the variable, never the password", () => {
    let error: unknown;
    try {
      loadConfig({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "hunter2" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.split("\n")).toEqual([
      "invalid configuration: KAFKA_SASL_USERNAME is not set (nor KAFKA_SASL_USERNAME_FILE), but KAFKA_SASL_MECHANISM=plain needs it",
      "invalid configuration: KAFKA_BROKERS is not set, but KAFKA_SSL or KAFKA_SASL_MECHANISM is: name the brokers to connect to",
    ]);
    expect((error as Error).message).not.toContain("hunter2");
  });
});
