import type { EventRow } from "../store/events-repository.ts";
import type { SinkMessage } from "./event-sink.ts";

/** The columns of an event row that go on the wire. */
export type OutboxEvent = Pick<EventRow, "id" | "type" | "subject" | "image_id" | "time" | "data">;

/** The same, with `data` as the JSON text the database gave (no parse and stringify again). */
export type OutboxEventJson = Omit<OutboxEvent, "data"> & { readonly dataJson: string };

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

function envelope(event: Omit<OutboxEvent, "data">, source: string): Omit<CloudEvent, "data"> {
  return {
    specversion: "1.0",
    id: event.id,
    source,
    type: event.type,
    subject: event.subject,
    time: new Date(event.time).toISOString(),
    datacontenttype: "application/json",
  };
}

export function toCloudEvent(event: OutboxEvent, source: string): CloudEvent {
  return { ...envelope(event, source), data: event.data };
}

/** The CloudEvent as JSON text, splicing in `data` already serialized (valid JSON by contract). */
export function cloudEventJson(event: OutboxEventJson, source: string): string {
  return `${JSON.stringify(envelope(event, source)).slice(0, -1)},"data":${event.dataJson}}`;
}

/**
 * The Kafka message of an event: keyed by image id, so one image's events share a partition and
 * keep their order; `ce_*` headers let consumers route without parsing the value.
 */
export function toKafkaMessage(event: OutboxEvent | OutboxEventJson, source: string): SinkMessage {
  const cloudEvent = envelope(event, source);
  return {
    key: String(event.image_id),
    value:
      "dataJson" in event
        ? cloudEventJson(event, source)
        : JSON.stringify({ ...cloudEvent, data: event.data }),
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
