import { describe, expect, it } from "vitest";
import { classifyKafkaError } from "./kafka-errors.ts";

/** Shaped like what kafkajs 2.2.4 throws (seen against the mock broker). */
function kafkaError(name: string, message: string, extra: Record<string, unknown> = {}) {
  return Object.assign(new Error(message), { name, ...extra });
}

describe("classifyKafkaError", () => {
  it("treats a broker that refuses connections as retriable, though kafkajs says otherwise", () => {
    const cause = kafkaError("KafkaJSConnectionError", "Connection error: connect ECONNREFUSED");
    const error = kafkaError("KafkaJSNonRetriableError", cause.message, {
      retriable: false,
      cause,
    });
    const classified = classifyKafkaError(error);
    expect(classified.retriable).toBe(true);
    expect(classified.code).toBe("KafkaJSConnectionError");
    expect(classified.message).toMatch(/ECONNREFUSED/);
  });

  it("treats retries exhausted on a leader election as retriable", () => {
    const cause = kafkaError("KafkaJSProtocolError", "There is no leader", {
      type: "LEADER_NOT_AVAILABLE",
      retriable: true,
    });
    const error = kafkaError("KafkaJSNumberOfRetriesExceeded", cause.message, { cause });
    expect(classifyKafkaError(error)).toMatchObject({
      retriable: true,
      code: "LEADER_NOT_AVAILABLE",
    });
  });

  it.each(["MESSAGE_TOO_LARGE", "INVALID_RECORD", "RECORD_LIST_TOO_LARGE"])(
    "treats %s as permanent",
    (type) => {
      const error = kafkaError("KafkaJSProtocolError", "rejected", { type, retriable: false });
      expect(classifyKafkaError(error)).toMatchObject({ retriable: false, code: type });
    },
  );

  it("keeps configuration errors retriable: events wait instead of being dropped", () => {
    const error = kafkaError("KafkaJSProtocolError", "Not authorized", {
      type: "TOPIC_AUTHORIZATION_FAILED",
      retriable: false,
    });
    expect(classifyKafkaError(error).retriable).toBe(true);
  });

  it("names the settings to check when Kafka refuses the SASL credentials, and keeps waiting", () => {
    const cause = kafkaError(
      "KafkaJSSASLAuthenticationError",
      "SASL PLAIN authentication failed: Authentication failed: Invalid username or password",
      { retriable: false },
    );
    const classified = classifyKafkaError(cause);
    expect(classified).toMatchObject({ retriable: true, code: "SASL_AUTHENTICATION_FAILED" });
    expect(classified.message).toBe(
      "Kafka refused the SASL credentials (check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD): SASL PLAIN authentication failed: Authentication failed: Invalid username or password",
    );
  });

  it("names the CA setting when the broker's certificate is not trusted", () => {
    const tls = Object.assign(new Error("self-signed certificate in certificate chain"), {
      code: "SELF_SIGNED_CERT_IN_CHAIN",
    });
    const connection = kafkaError("KafkaJSConnectionError", `Connection error: ${tls.message}`, {
      cause: tls,
    });
    const error = kafkaError("KafkaJSNumberOfRetriesExceeded", connection.message, {
      cause: connection,
    });
    const classified = classifyKafkaError(error);
    expect(classified).toMatchObject({ retriable: true, code: "SELF_SIGNED_CERT_IN_CHAIN" });
    expect(classified.message).toMatch(
      /^the broker's TLS certificate is not trusted .*KAFKA_SSL_CA_FILE/,
    );
  });

  it.each([
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "CERT_HAS_EXPIRED",
    "ERR_TLS_CERT_ALTNAME_INVALID",
  ])("names the CA setting for the verification failure %s", (code) => {
    const error = kafkaError("KafkaJSConnectionError", "Connection error: x", { code });
    expect(classifyKafkaError(error)).toMatchObject({
      retriable: true,
      code,
      message: expect.stringMatching(/KAFKA_SSL_CA_FILE/),
    });
  });

  it("names the client certificate settings when the broker asks for one", () => {
    const error = kafkaError("KafkaJSConnectionError", "Connection error: alert", {
      code: "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
    });
    expect(classifyKafkaError(error)).toMatchObject({ code: "TLS_CLIENT_CERTIFICATE_REQUIRED" });
  });

  it("recognises the broker's alert by its message when the code is missing", () => {
    const error = kafkaError(
      "KafkaJSConnectionError",
      "Connection error: 40:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required",
    );
    expect(classifyKafkaError(error)).toMatchObject({
      retriable: true,
      code: "TLS_CLIENT_CERTIFICATE_REQUIRED",
      message: expect.stringMatching(/KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE/),
    });
  });

  it("treats anything unknown as retriable", () => {
    expect(classifyKafkaError("boom")).toMatchObject({ retriable: true, code: "UNKNOWN" });
    expect(classifyKafkaError(new TypeError("x"))).toMatchObject({ retriable: true });
  });

  it("survives a cause cycle", () => {
    const error = kafkaError("KafkaJSError", "loop") as Error & { cause?: unknown };
    error.cause = error;
    expect(classifyKafkaError(error).retriable).toBe(true);
  });
});
