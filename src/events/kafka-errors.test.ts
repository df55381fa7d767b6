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
