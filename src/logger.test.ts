import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.ts";
import { secret } from "./events/kafka-connection-settings.ts";
import { kafkaClientConfig } from "./events/kafka-sink.ts";
import { createLogger } from "./logger.ts";

/** A logger writing into a string, synchronously. */
function capture() {
  let written = "";
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      written += chunk.toString();
      callback();
    },
  });
  return { logger: createLogger("trace", destination), written: () => written };
}

describe("the logger keeps secrets out", () => {
  it("redacts tokens, passwords and database URLs wherever they are logged", () => {
    const { logger, written } = capture();
    logger.info({
      token: "tok-1",
      user: { password: "pw-2" },
      databaseUrl: "postgres://u:pw-3@h/d",
    });
    expect(written()).not.toMatch(/tok-1|pw-2|pw-3/);
    expect(written()).toContain("[redacted]");
  });

  it("never writes Kafka's SASL password or TLS key: not from the configuration, not from kafkajs's settings", () => {
    const { logger, written } = capture();
    const config = loadConfig({
      KAFKA_BROKERS: "b:9093",
      KAFKA_SSL: "true",
      KAFKA_SASL_MECHANISM: "plain",
      KAFKA_SASL_USERNAME: "svc",
      KAFKA_SASL_PASSWORD: "sasl-password-1",
    });
    const client = kafkaClientConfig({
      brokers: ["b:9093"],
      topic: "t",
      clientId: "c",
      logger,
      tls: { ca: undefined, clientCertificate: { cert: "CERT", key: secret("tls-key-2") } },
      ...(config.kafkaConnection.sasl === undefined ? {} : { sasl: config.kafkaConnection.sasl }),
    });
    logger.info({ config }, "configuration");
    logger.info({ kafka: client }, "client settings");
    logger.info(client, "client settings at the top");
    expect(written()).toContain('"username":"svc"');
    expect(written()).not.toMatch(/sasl-password-1|tls-key-2/);
  });
});
