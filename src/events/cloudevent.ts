import type { EventRow } from "../store/events-repository.ts";
import type { SinkMessage } from "./event-sink.ts";

/** The columns of an event row that go on the wire. */
export type OutboxEvent = Pick<EventRow, "id" | "type" | "subject" | "image_id" | "time" | "data">;

/** CloudEvents 1.0, structured mode (the whole event is the message value). */
export type CloudEvent = {
  readonly specversion: "1.0";
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: "application/json";
  readonly data: Readonly<Record<string, unknown>>;
};

export const cloudEventContentType = "application/cloudevents+json";

/** The contract's `source`: which orchestrator wrote the event. */
export function eventSource(orchestratorId: string): string {
  return `orchestrator/${orchestratorId}`;
}

export function toCloudEvent(event: OutboxEvent, source: string): CloudEvent {
  return {
    specversion: "1.0",
    id: event.id,
    source,
    type: event.type,
    subject: event.subject,
    time: new Date(event.time).toISOString(),
    datacontenttype: "application/json",
    data: event.data,
  };
}

/**
 * The Kafka message of an event: keyed by image id, so one image's events share a partition and
 * keep their order; `ce_*` headers let consumers route without parsing the value.
 */
export function toKafkaMessage(event: OutboxEvent, source: string): SinkMessage {
  const cloudEvent = toCloudEvent(event, source);
  return {
    key: String(event.image_id),
    value: JSON.stringify(cloudEvent),
    headers: {
      "content-type": cloudEventContentType,
      ce_specversion: cloudEvent.specversion,
      ce_id: cloudEvent.id,
      ce_source: cloudEvent.source,
      ce_type: cloudEvent.type,
      ce_subject: cloudEvent.subject,
      ce_time: cloudEvent.time,
    },
  };
}
