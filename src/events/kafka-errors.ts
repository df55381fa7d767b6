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

type ErrorLike = { name?: unknown; message?: unknown; type?: unknown; cause?: unknown };

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
  const protocol = chain.find((link) => typeof link.type === "string");
  const deepest = chain.at(-1);
  const code =
    typeof protocol?.type === "string"
      ? protocol.type
      : typeof deepest?.name === "string"
        ? deepest.name
        : "UNKNOWN";
  const message =
    typeof chain[0]?.message === "string" && chain[0].message.length > 0
      ? chain[0].message
      : String(error);
  return new PublishError(message, {
    retriable: !permanentProtocolErrors.has(code),
    code,
    cause: error,
  });
}
