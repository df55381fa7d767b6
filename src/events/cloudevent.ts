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

/** The last event time written as RFC 3339: the events of one transaction share their time. */
let lastTime: { readonly ms: number; readonly text: string } = { ms: Number.NaN, text: "" };

function rfc3339(time: Date | string): string {
  // A Date from the driver, or (some drivers, tests) its text.
  const ms = time instanceof Date ? time.getTime() : new Date(time).getTime();
  if (ms !== lastTime.ms) lastTime = { ms, text: new Date(ms).toISOString() };
  return lastTime.text;
}

function envelope(event: Omit<OutboxEvent, "data">, source: string): Omit<CloudEvent, "data"> {
  return {
    specversion: "1.0",
    id: event.id,
    source,
    type: event.type,
    subject: event.subject,
    time: rfc3339(event.time),
    datacontenttype: "application/json",
  };
}

export function toCloudEvent(event: OutboxEvent, source: string): CloudEvent {
  return { ...envelope(event, source), data: event.data };
}

/** The envelope's JSON text with `data` (JSON text) as its last field. */
function withData(envelopeJson: string, dataJson: string): string {
  return `${envelopeJson.slice(0, -1)},"data":${dataJson}}`;
}

/** The CloudEvent as JSON text, splicing in `data` already serialized (valid JSON by contract). */
export function cloudEventJson(event: OutboxEventJson, source: string): string {
  return withData(JSON.stringify(envelope(event, source)), event.dataJson);
}

/**
 * The Kafka message of an event: keyed by image id, so one image's events share a partition and
 * keep their order; `ce_*` headers let consumers route without parsing the value. The envelope is
 * built once, for the value and the headers alike (the relay's hot path).
 */
export function toKafkaMessage(event: OutboxEvent | OutboxEventJson, source: string): SinkMessage {
  const cloudEvent = envelope(event, source);
  const envelopeJson = JSON.stringify(cloudEvent);
  return {
    key: String(event.image_id),
    value: withData(
      envelopeJson,
      "dataJson" in event ? event.dataJson : JSON.stringify(event.data),
    ),
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
