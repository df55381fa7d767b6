import { describe, expect, it } from "vitest";
import { PublishError } from "../../src/events/event-sink.ts";
import { createKafkaSink } from "../../src/events/kafka-sink.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { hasKafkaMock } from "../support/services.ts";
import { testLogger, uniqueTopic } from "./relay-support.ts";

const message = (key: string, value: string) => ({ key, value, headers: { ce_id: key } });

describe.runIf(hasKafkaMock())("Kafka sink against the mock broker", () => {
  const broker = useKafkaBroker();

  const sinkFor = (topic: string, maxMessageBytes?: number) =>
    createKafkaSink({
      brokers: broker().brokers,
      topic,
      clientId: "sink-test",
      logger: testLogger,
      requestTimeoutMs: 2_000,
      connectionTimeoutMs: 500,
      ...(maxMessageBytes === undefined ? {} : { maxMessageBytes }),
    });

  it("sends with headers, refuses oversized messages itself, and sends the rest", async () => {
    const topic = uniqueTopic();
    const sink = sinkFor(topic, 100);
    try {
      const report = await sink.publish([
        message("1", "a"),
        message("1", "b".repeat(200)),
        message("2", "c"),
        // Counted in UTF-8 bytes: 60 characters, 120 bytes (+ 7 of key and header).
        message("3", "é".repeat(60)),
        // Exactly the limit: 1 + 93 + 5 + 1 bytes.
        message("4", "d".repeat(93)),
      ]);
      expect(
        report.rejected.map(({ index, error }) => [index, error.code, error.retriable]),
      ).toEqual([
        [1, "MESSAGE_TOO_LARGE", false],
        [3, "MESSAGE_TOO_LARGE", false],
      ]);
      expect(report.rejected[1]?.error.message).toMatch(/^message of 127 bytes/);
      const consumption = await broker().consume(topic);
      const received = await consumption.waitFor(3);
      await consumption.stop();
      expect(received.map((item) => [item.key, item.value, item.headers.ce_id])).toEqual(
        expect.arrayContaining([
          ["1", "a", "1"],
          ["2", "c", "2"],
          ["4", "d".repeat(93), "4"],
        ]),
      );
    } finally {
      await sink.disconnect();
    }
  });

  it("classifies a broker rejection as permanent", async () => {
    const sink = sinkFor(uniqueTopic());
    try {
      await sink.publish([message("1", "warm-up")]);
      await broker().produceErrors(1, 10);
      const error = await sink.publish([message("1", "x")]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PublishError);
      expect(error).toMatchObject({ retriable: false, code: "MESSAGE_TOO_LARGE" });
    } finally {
      await sink.disconnect();
    }
  });

  it("fails retriably while the broker is down, even when it never connected, and recovers", async () => {
    await broker().down();
    const sink = sinkFor(uniqueTopic());
    try {
      await expect(sink.connect()).rejects.toMatchObject({ retriable: true });
      const started = Date.now();
      const error = await sink.publish([message("1", "x")]).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ retriable: true, code: "KafkaJSConnectionError" });
      expect(Date.now() - started).toBeLessThan(10_000);
      await broker().up();
      await expect(sink.publish([message("1", "y")])).resolves.toEqual({ rejected: [] });
    } finally {
      await broker().up();
      await sink.disconnect();
    }
  });

  it("gives up waiting when aborted, as a retriable failure", async () => {
    const sink = sinkFor(uniqueTopic());
    try {
      await sink.publish([message("1", "warm-up")]);
      await broker().down();
      const controller = new AbortController();
      const publishing = sink.publish([message("1", "x")], { signal: controller.signal });
      controller.abort();
      await expect(publishing).rejects.toMatchObject({ retriable: true, code: "ABORTED" });
    } finally {
      await broker().up();
      await sink.disconnect();
    }
  });
});
