import { randomUUID } from "node:crypto";
import { Kafka } from "kafkajs";
import { type KafkaSinkOptions, kafkaClientConfig } from "./kafka-sink.ts";

/** One lifecycle event as read from the topic (the CloudEvent's id, type and data). */
export type TopicEvent = {
  readonly id: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
};

export type KafkaSourceOptions = Omit<KafkaSinkOptions, "maxMessageBytes" | "sendTimeoutMs"> & {
  /** Called for each event, in the topic's order per image (one partition per key). */
  readonly onEvent: (event: TopicEvent) => void;
};

/** The CloudEvent of a message value, or undefined for anything else (logged by the caller). */
export function parseTopicEvent(value: Buffer | null): TopicEvent | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value.toString("utf8")) as Record<string, unknown>;
    if (typeof parsed.id !== "string" || typeof parsed.type !== "string") return undefined;
    const data = parsed.data;
    if (data === null || typeof data !== "object" || Array.isArray(data)) return undefined;
    return { id: parsed.id, type: parsed.type, data: data as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/**
 * Reads the lifecycle topic from its earliest retained offset, every time: a consumer group of
 * its own per start (never committed to), so the state it rebuilds is the whole retained
 * history and two readers never share partitions. Used by the router (a table built from the
 * stream alone); kafkajs stays imported only by this folder's Kafka adapters.
 */
export async function startKafkaSource(
  options: KafkaSourceOptions,
): Promise<{ stop(): Promise<void> }> {
  const kafka = new Kafka(kafkaClientConfig({ ...options }));
  const consumer = kafka.consumer({
    groupId: `${options.clientId}-${randomUUID()}`,
    allowAutoTopicCreation: true,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5_000 },
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message, partition, topic }) => {
      const event = parseTopicEvent(message.value);
      if (event === undefined) {
        options.logger.warn(
          { topic, partition, offset: message.offset },
          "message on the lifecycle topic is not a CloudEvent; skipped",
        );
        return;
      }
      options.onEvent(event);
    },
  });
  return { stop: () => consumer.disconnect() };
}
