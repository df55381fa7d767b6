import { describe, expect, it } from "vitest";
import { deliverBatch, type OutgoingEvent, prepareBatch } from "./deliver-batch.ts";
import { type EventSink, PublishError, type SinkMessage } from "./event-sink.ts";

function pending(seq: number): OutgoingEvent {
  const [event] = prepareBatch(
    [
      {
        seq,
        id: `00000000-0000-7000-8000-${String(seq).padStart(12, "0")}`,
        type: "container.started",
        subject: `containers/i${seq}`,
        image_id: 1,
        time: new Date("2025-01-01T00:00:00Z"),
        dataJson: `{"seq": ${seq}}`,
      },
    ],
    "s",
  );
  if (event === undefined) throw new Error("prepareBatch dropped the event");
  return event;
}

const tooLarge = () =>
  new PublishError("too large", { retriable: false, code: "MESSAGE_TOO_LARGE" });
const down = () =>
  new PublishError("ECONNREFUSED", { retriable: true, code: "KafkaJSConnectionError" });

/**
 * A sink that answers each publish from a script, so the order of failures is exact (the mock
 * broker's injected errors are also consumed by kafkajs's own retries). The integration tests
 * in test/events cover the same paths against the mock broker over TCP.
 */
function scriptedSink(answers: Array<(messages: readonly SinkMessage[]) => void>) {
  const sent: string[][] = [];
  const sink: EventSink = {
    connect: async () => {},
    disconnect: async () => {},
    publish: async (messages) => {
      sent.push(messages.map((message) => JSON.parse(message.value).data.seq));
      (answers.shift() ?? (() => {}))(messages);
      return { rejected: [] };
    },
  };
  return { sink, sent };
}

const seqs = (events: readonly OutgoingEvent[]) => events.map((event) => event.seq);

describe("deliverBatch", () => {
  it("publishes a batch in one request", async () => {
    const { sink, sent } = scriptedSink([]);
    const delivery = await deliverBatch([pending(1), pending(2)], sink);
    expect(seqs(delivery.published)).toEqual([1, 2]);
    expect(delivery.failed).toEqual([]);
    expect(delivery.retry).toBeUndefined();
    expect(sent).toEqual([[1, 2]]);
  });

  it("keeps the whole batch for later on a retriable failure", async () => {
    const { sink } = scriptedSink([
      () => {
        throw down();
      },
    ]);
    const delivery = await deliverBatch([pending(1), pending(2)], sink);
    expect(delivery.published).toEqual([]);
    expect(seqs(delivery.retry?.events ?? [])).toEqual([1, 2]);
  });

  it("fails a single message the broker rejects for good", async () => {
    const { sink } = scriptedSink([
      () => {
        throw tooLarge();
      },
    ]);
    const delivery = await deliverBatch([pending(7)], sink);
    expect(delivery.failed.map(({ event, error }) => [event.seq, error.code])).toEqual([
      [7, "MESSAGE_TOO_LARGE"],
    ]);
  });

  it("narrows a batch rejected for good down to the messages rejected alone", async () => {
    const { sink, sent } = scriptedSink([
      () => {
        throw tooLarge();
      },
      () => {},
      () => {
        throw tooLarge();
      },
      () => {},
    ]);
    const delivery = await deliverBatch([pending(1), pending(2), pending(3)], sink);
    expect(sent).toEqual([[1, 2, 3], [1], [2], [3]]);
    expect(seqs(delivery.published)).toEqual([1, 3]);
    expect(delivery.failed.map(({ event }) => event.seq)).toEqual([2]);
  });

  it("stops narrowing at a retriable failure and keeps the rest, in order, for later", async () => {
    const { sink } = scriptedSink([
      () => {
        throw tooLarge();
      },
      () => {},
      () => {
        throw down();
      },
    ]);
    const delivery = await deliverBatch([pending(1), pending(2), pending(3)], sink);
    expect(seqs(delivery.published)).toEqual([1]);
    expect(seqs(delivery.retry?.events ?? [])).toEqual([2, 3]);
    expect(delivery.failed).toEqual([]);
  });

  it("fails the messages the sink refused before sending and publishes the rest", async () => {
    const sink: EventSink = {
      connect: async () => {},
      disconnect: async () => {},
      publish: async () => ({ rejected: [{ index: 1, error: tooLarge() }] }),
    };
    const delivery = await deliverBatch([pending(1), pending(2), pending(3)], sink);
    expect(seqs(delivery.published)).toEqual([1, 3]);
    expect(delivery.failed.map(({ event }) => event.seq)).toEqual([2]);
  });
});
