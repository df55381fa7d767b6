import { PublishError } from "./event-sink.ts";

/**
 * Broker answers that are about the messages themselves: sending them again can never succeed.
 * Everything else (connection refused, timeouts, no leader, unknown topic, even authorization or
 * configuration errors) is retriable: the events wait in Postgres until an operator fixes it.
 */
const permanentProtocolErrors = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
]);

type ErrorLike = {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  code?: unknown;
  cause?: unknown;
};

/**
 * Failures of the connection's security, named by the setting to look at: kafkajs reports them
 * as a generic authentication or connection error, which says nothing about what to fix.
 */
function securityFailure(chain: readonly ErrorLike[]): { code: string; hint: string } | undefined {
  if (chain.some((link) => link.name === "KafkaJSSASLAuthenticationError")) {
    return {
      code: "SASL_AUTHENTICATION_FAILED",
      hint: "Kafka refused the SASL credentials (check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)",
    };
  }
  const codes = chain.map((link) => link.code).filter((code) => typeof code === "string");
  const messages = chain.map((link) => (typeof link.message === "string" ? link.message : ""));
  // The broker's alert after our certificate (none, or one it does not trust).
  if (
    codes.some((code) =>
      /^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA)$/.test(code),
    ) ||
    messages.some((message) =>
      /alert (certificate required|bad certificate|unknown ca)/i.test(message),
    )
  ) {
    return {
      code: "TLS_CLIENT_CERTIFICATE_REQUIRED",
      hint: "the broker wants a client certificate it trusts (check KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE)",
    };
  }
  // Node's verification of the broker's certificate (OpenSSL's X509 verify results).
  const untrusted = codes.find((code) =>
    /^(UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME|HOSTNAME_MISMATCH)/.test(
      code,
    ),
  );
  if (untrusted !== undefined) {
    return {
      code: untrusted,
      hint: "the broker's TLS certificate is not trusted or does not name the broker (check KAFKA_SSL_CA_FILE and the broker address)",
    };
  }
  return undefined;
}

/** The error and its causes: kafkajs wraps the broker's answer after its own retries. */
function causeChain(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = error;
  while (typeof current === "object" && current !== null && chain.length < 10) {
    if (chain.includes(current as ErrorLike)) break;
    chain.push(current as ErrorLike);
    current = (current as ErrorLike).cause;
  }
  return chain;
}

/**
 * Classifies what a kafkajs send threw. kafkajs marks "retries exhausted" and even "broker down"
 * as non-retriable (KafkaJSNonRetriableError caused by a KafkaJSConnectionError), so its own
 * `retriable` flag is not used: only the protocol error types above are permanent.
 */
export function classifyKafkaError(error: unknown): PublishError {
  const chain = causeChain(error);
  const firstMessage =
    typeof chain[0]?.message === "string" && chain[0].message.length > 0
      ? chain[0].message
      : String(error);
  const security = securityFailure(chain);
  if (security !== undefined) {
    return new PublishError(`${security.hint}: ${firstMessage}`, {
      retriable: true,
      code: security.code,
      cause: error,
    });
  }
  const protocol = chain.find((link) => typeof link.type === "string");
  const deepest = chain.at(-1);
  const code =
    typeof protocol?.type === "string"
      ? protocol.type
      : typeof deepest?.name === "string"
        ? deepest.name
        : "UNKNOWN";
  return new PublishError(firstMessage, {
    retriable: !permanentProtocolErrors.has(code),
    code,
    cause: error,
  });
}
