import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { kafkaClientConfig } from "../../src/events/kafka-sink.ts";
import { createLogger } from "../../src/logger.ts";
import { runProject } from "../support/spawn-server.ts";
import { type Certificates, makeCertificates } from "./test-certificates.ts";

/**
 * The kafkajs settings the environment produces, for what no broker here can show: a managed
 * cluster's own CA (Node's bundled roots), its SASL server and its ACLs. kafka-security.test.ts
 * runs the handshakes themselves against the auth gateway in front of the mock broker.
 */

const logger = createLogger("silent");

/** The kafkajs client settings of the service's sink for an environment. */
function clientSettingsFor(env: Record<string, string>) {
  const config = loadConfig(env);
  return kafkaClientConfig({
    brokers: config.kafkaBrokers ?? [],
    topic: config.kafkaTopic,
    clientId: config.kafkaConnection.clientId,
    tls: config.kafkaConnection.tls,
    sasl: config.kafkaConnection.sasl,
    logger,
  });
}

function configErrorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("Kafka connection settings from the environment", () => {
  let certificates: Certificates;
  beforeAll(async () => {
    certificates = await makeCertificates();
  });
  afterAll(async () => {
    await certificates?.remove();
  });

  it("stays plaintext without authentication when only KAFKA_BROKERS is set", () => {
    const settings = clientSettingsFor({ KAFKA_BROKERS: "kafka:9092", ORCHESTRATOR_ID: "eu-1" });
    expect(settings).toMatchObject({ clientId: "orchestrator-eu-1", brokers: ["kafka:9092"] });
    expect(settings.ssl).toBeUndefined();
    expect(settings.sasl).toBeUndefined();
  });

  it("Confluent Cloud (SASL_SSL, PLAIN with an API key): TLS against Node's bundled roots", () => {
    const settings = clientSettingsFor({
      KAFKA_BROKERS: "pkc-12345.europe-west1.gcp.confluent.cloud:9092",
      KAFKA_SSL: "true",
      KAFKA_SASL_MECHANISM: "PLAIN",
      KAFKA_SASL_USERNAME: "ABCDEFGHIJKLMNOP",
      KAFKA_SASL_PASSWORD: "api-secret",
      KAFKA_CLIENT_ID: "orchestrator-prod",
    });
    expect(settings).toMatchObject({
      clientId: "orchestrator-prod",
      brokers: ["pkc-12345.europe-west1.gcp.confluent.cloud:9092"],
      ssl: { rejectUnauthorized: true },
      sasl: { mechanism: "plain", username: "ABCDEFGHIJKLMNOP", password: "api-secret" },
    });
    // No `ca`: giving one would replace the public roots that sign the cluster's certificate.
    expect(settings.ssl).toEqual({ rejectUnauthorized: true });
  });

  it("Amazon MSK (SASL/SCRAM-SHA-512 on port 9096)", () => {
    const settings = clientSettingsFor({
      KAFKA_BROKERS:
        "b-1.cluster.abc123.c2.kafka.eu-west-1.amazonaws.com:9096,b-2.cluster.abc123.c2.kafka.eu-west-1.amazonaws.com:9096",
      KAFKA_SSL: "true",
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: "orchestrator",
      KAFKA_SASL_PASSWORD: "from-secrets-manager",
    });
    expect(settings.brokers).toHaveLength(2);
    expect(settings.sasl).toEqual({
      mechanism: "scram-sha-512",
      username: "orchestrator",
      password: "from-secrets-manager",
    });
  });

  it("Aiven (mutual TLS with the project CA, access certificate and key files)", async () => {
    const settings = clientSettingsFor({
      KAFKA_BROKERS: "kafka-demo-project.aivencloud.com:12345",
      KAFKA_SSL: "true",
      KAFKA_SSL_CA_FILE: certificates.files.ca,
      KAFKA_SSL_CERT_FILE: certificates.files.clientCert,
      KAFKA_SSL_KEY_FILE: certificates.files.clientKey,
    });
    expect(settings.ssl).toEqual({
      rejectUnauthorized: true,
      ca: [await certificates.read("ca")],
      cert: await certificates.read("clientCert"),
      key: await certificates.read("clientKey"),
    });
    expect(settings.sasl).toBeUndefined();
  });

  it("refuses a key that does not belong to the certificate, naming KAFKA_SSL_KEY_FILE", () => {
    const message = configErrorOf({
      KAFKA_BROKERS: "k:9093",
      KAFKA_SSL: "true",
      KAFKA_SSL_CERT_FILE: certificates.files.clientCert,
      KAFKA_SSL_KEY_FILE: certificates.files.otherKey,
    });
    expect(message).toBe(
      `invalid configuration: KAFKA_SSL_KEY_FILE="${certificates.files.otherKey}" is not the private key of the certificate in KAFKA_SSL_CERT_FILE`,
    );
  });

  it("refuses an encrypted key (no passphrase setting) and files that hold no certificate", async () => {
    const encrypted = path.join(certificates.dir, "encrypted.key");
    await promisify(execFile)("openssl", [
      "pkey",
      "-in",
      certificates.files.clientKey,
      "-aes256",
      "-passout",
      "pass:secret",
      "-out",
      encrypted,
    ]);
    expect(
      configErrorOf({
        KAFKA_BROKERS: "k:9093",
        KAFKA_SSL: "true",
        KAFKA_SSL_CERT_FILE: certificates.files.clientCert,
        KAFKA_SSL_KEY_FILE: encrypted,
      }),
    ).toBe(
      `invalid configuration: KAFKA_SSL_KEY_FILE="${encrypted}" holds no unencrypted PEM private key`,
    );
    expect(
      configErrorOf({
        KAFKA_BROKERS: "k:9093",
        KAFKA_SSL: "true",
        KAFKA_SSL_CA_FILE: certificates.files.clientKey,
        KAFKA_SSL_CERT_FILE: certificates.files.clientKey,
        KAFKA_SSL_KEY_FILE: certificates.files.clientKey,
      }).split("\n"),
    ).toEqual([
      `invalid configuration: KAFKA_SSL_CA_FILE="${certificates.files.clientKey}" holds no PEM certificate`,
      `invalid configuration: KAFKA_SSL_CERT_FILE="${certificates.files.clientKey}" holds no PEM certificate`,
    ]);
  });

  it("reads a CA bundle of several certificates", async () => {
    const bundle = path.join(certificates.dir, "bundle.pem");
    const text = `${await certificates.read("otherCa")}${await certificates.read("ca")}`;
    await writeFile(bundle, text);
    const settings = clientSettingsFor({
      KAFKA_BROKERS: "k:9093",
      KAFKA_SSL: "true",
      KAFKA_SSL_CA_FILE: bundle,
    });
    expect(settings.ssl).toEqual({ rejectUnauthorized: true, ca: [text] });
  });

  it("stops `npm start` before anything else with one line naming the variable (exit 2)", async () => {
    const running = runProject(["src/main.ts"], {
      DATA_DIR: path.join(certificates.dir, "never-created"),
      KAFKA_BROKERS: "k:9093",
      KAFKA_SASL_MECHANISM: "scram-sha-256",
      KAFKA_SASL_USERNAME: "svc",
    });
    const exit = await running.exited;
    expect(exit.code).toBe(2);
    expect(running.output().stderr.trim()).toBe(
      "invalid configuration: KAFKA_SASL_PASSWORD is not set (nor KAFKA_SASL_PASSWORD_FILE), but KAFKA_SASL_MECHANISM=scram-sha-256 needs it",
    );
  });
});
