import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  type KafkaConnectionVariables,
  resolveKafkaConnection,
  secret,
} from "./kafka-connection-settings.ts";

/** Files as a map: the resolution's only I/O is reading the files the variables name. */
function filesOf(contents: Record<string, string>) {
  return {
    read: (path: string) => {
      const text = contents[path];
      if (text === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
      return text;
    },
  };
}

const resolve = (variables: KafkaConnectionVariables, contents: Record<string, string> = {}) =>
  resolveKafkaConnection(
    { brokersSet: true, orchestratorId: "orch-1", ...variables },
    filesOf(contents),
  );

/** The messages of a resolution that must fail. */
function problemsOf(result: ReturnType<typeof resolve>): string[] {
  if (!("problems" in result)) throw new Error("expected problems, got a connection");
  return result.problems.map((problem) => `${problem.variable}: ${problem.message}`);
}

function connectionOf(result: ReturnType<typeof resolve>) {
  if ("problems" in result) throw new Error(result.problems.map((p) => p.message).join("\n"));
  return result.connection;
}

describe("resolveKafkaConnection", () => {
  it("is plaintext without authentication by default, with a client id from ORCHESTRATOR_ID", () => {
    expect(connectionOf(resolve({}))).toEqual({
      clientId: "orchestrator-orch-1",
      tls: undefined,
      sasl: undefined,
    });
    expect(connectionOf(resolve({ KAFKA_CLIENT_ID: "billing-feed" })).clientId).toBe(
      "billing-feed",
    );
  });

  it("uses TLS with Node's bundled roots when KAFKA_SSL=true names no CA (managed clusters)", () => {
    expect(connectionOf(resolve({ KAFKA_SSL: true })).tls).toEqual({
      ca: undefined,
      clientCertificate: undefined,
    });
    expect(connectionOf(resolve({ KAFKA_SSL: false })).tls).toBeUndefined();
  });

  it("reads SASL credentials given directly or from files, without the files' final newline", () => {
    const direct = connectionOf(
      resolve({
        KAFKA_SASL_MECHANISM: "scram-sha-512",
        KAFKA_SASL_USERNAME: "svc",
        KAFKA_SASL_PASSWORD: "pw 1",
      }),
    ).sasl;
    expect(direct?.mechanism).toBe("scram-sha-512");
    expect(direct?.username).toBe("svc");
    expect(direct?.password.reveal()).toBe("pw 1");

    const fromFiles = connectionOf(
      resolve(
        {
          KAFKA_SASL_MECHANISM: "plain",
          KAFKA_SASL_USERNAME_FILE: "/run/secrets/user",
          KAFKA_SASL_PASSWORD_FILE: "/run/secrets/password",
        },
        { "/run/secrets/user": "API-KEY\n", "/run/secrets/password": "  spaced secret \r\n" },
      ),
    ).sasl;
    expect(fromFiles?.username).toBe("API-KEY");
    expect(fromFiles?.password.reveal()).toBe("  spaced secret ");
  });

  it.each<[string, KafkaConnectionVariables, Record<string, string>, RegExp]>([
    [
      "a CA without KAFKA_SSL",
      { KAFKA_SSL_CA_FILE: "/ca.pem" },
      {},
      /^KAFKA_SSL_CA_FILE: KAFKA_SSL_CA_FILE="\/ca.pem" is set but KAFKA_SSL is not true/,
    ],
    [
      "a client certificate with KAFKA_SSL=false",
      { KAFKA_SSL: false, KAFKA_SSL_CERT_FILE: "/c.pem" },
      {},
      /^KAFKA_SSL_CERT_FILE: .*KAFKA_SSL is not true/,
    ],
    [
      "a certificate without its key",
      { KAFKA_SSL: true, KAFKA_SSL_CERT_FILE: "/c.pem" },
      {},
      /^KAFKA_SSL_KEY_FILE: KAFKA_SSL_KEY_FILE is not set, but KAFKA_SSL_CERT_FILE is/,
    ],
    [
      "a key without its certificate",
      { KAFKA_SSL: true, KAFKA_SSL_KEY_FILE: "/k.pem" },
      {},
      /^KAFKA_SSL_CERT_FILE: KAFKA_SSL_CERT_FILE is not set, but KAFKA_SSL_KEY_FILE is/,
    ],
    [
      "a CA file that does not exist",
      { KAFKA_SSL: true, KAFKA_SSL_CA_FILE: "/nowhere.pem" },
      {},
      /^KAFKA_SSL_CA_FILE: KAFKA_SSL_CA_FILE="\/nowhere.pem" cannot be read \(ENOENT\)$/,
    ],
    [
      "a CA file without a certificate",
      { KAFKA_SSL: true, KAFKA_SSL_CA_FILE: "/ca.pem" },
      { "/ca.pem": "not a certificate" },
      /^KAFKA_SSL_CA_FILE: .* holds no PEM certificate$/,
    ],
    [
      "a mechanism without a username",
      { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "x" },
      {},
      /^KAFKA_SASL_USERNAME: KAFKA_SASL_USERNAME is not set \(nor KAFKA_SASL_USERNAME_FILE\), but KAFKA_SASL_MECHANISM=plain needs it$/,
    ],
    [
      "a mechanism without a password",
      { KAFKA_SASL_MECHANISM: "scram-sha-256", KAFKA_SASL_USERNAME: "u" },
      {},
      /^KAFKA_SASL_PASSWORD: KAFKA_SASL_PASSWORD is not set \(nor KAFKA_SASL_PASSWORD_FILE\)/,
    ],
    [
      "a password both direct and from a file",
      {
        KAFKA_SASL_MECHANISM: "plain",
        KAFKA_SASL_USERNAME: "u",
        KAFKA_SASL_PASSWORD: "x",
        KAFKA_SASL_PASSWORD_FILE: "/p",
      },
      { "/p": "y" },
      /^KAFKA_SASL_PASSWORD: KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set/,
    ],
    [
      "an empty password file",
      { KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD_FILE: "/p" },
      { "/p": "\n" },
      /^KAFKA_SASL_PASSWORD_FILE: KAFKA_SASL_PASSWORD_FILE="\/p" is an empty file$/,
    ],
    [
      "credentials without a mechanism",
      { KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "x" },
      {},
      /^KAFKA_SASL_MECHANISM: KAFKA_SASL_MECHANISM is not set, but KAFKA_SASL_USERNAME is/,
    ],
  ])("refuses %s, naming the variable to fix", (_, variables, files, expected) => {
    const problems = problemsOf(resolve(variables, files));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it("refuses TLS or SASL settings without brokers to use them on", () => {
    const problems = problemsOf(
      resolveKafkaConnection(
        { brokersSet: false, orchestratorId: "o", KAFKA_SSL: true },
        filesOf({}),
      ),
    );
    expect(problems).toEqual([
      "KAFKA_BROKERS: KAFKA_BROKERS is not set, but KAFKA_SSL or KAFKA_SASL_MECHANISM is: name the brokers to connect to",
    ]);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf(
      resolve({ KAFKA_SSL_CA_FILE: "/ca.pem", KAFKA_SASL_MECHANISM: "plain" }),
    );
    expect(problems.map((problem) => problem.split(":")[0])).toEqual([
      "KAFKA_SSL_CA_FILE",
      "KAFKA_SASL_USERNAME",
      "KAFKA_SASL_PASSWORD",
    ]);
  });
});

describe("secret", () => {
  it("shows [redacted] to JSON, util.inspect and strings, and the value only to reveal()", () => {
    const password = secret("hunter2");
    const holder = { sasl: { username: "u", password } };
    expect(JSON.stringify(holder)).toBe('{"sasl":{"username":"u","password":"[redacted]"}}');
    expect(inspect(holder, { depth: 5 })).not.toContain("hunter2");
    expect(`${password}`).toBe("[redacted]");
    expect(password.reveal()).toBe("hunter2");
  });
});
