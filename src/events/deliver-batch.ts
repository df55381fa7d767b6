import type { PendingEvent } from "../store/events-repository.ts";
import { toKafkaMessage } from "./cloudevent.ts";
import {
  asPublishError,
  type EventSink,
  type PublishError,
  type SinkMessage,
} from "./event-sink.ts";

/**
 * A pending event made ready to send: its message, and what the marks, the metrics and the logs
 * need of the row (its strings are the message's own). The row itself, with its data text, is
 * not kept: a batch waits for the broker (and the next one is read meanwhile) across several
 * scavenges, and what it holds on V8's heap is copied by each and promoted to the old generation.
 */
export type OutgoingEvent = Pick<PendingEvent, "seq" | "id" | "type" | "image_id" | "time"> & {
  readonly message: SinkMessage;
};

/** The rows of a batch as they go out (in seq order). */
export function prepareBatch(events: readonly PendingEvent[], source: string): OutgoingEvent[] {
  return events.map((event) => ({
    seq: event.seq,
    id: event.id,
    type: event.type,
    image_id: event.image_id,
    time: event.time,
    message: toKafkaMessage(event, source),
  }));
}

export type Delivery = {
  /** Acknowledged by the broker (at `ackedAt`). */
  readonly published: readonly OutgoingEvent[];
  readonly ackedAt: Date;
  /** Rejected for good: the poison-message policy marks them failed. */
  readonly failed: readonly { readonly event: OutgoingEvent; readonly error: PublishError }[];
  /** A retriable failure: these events (in order) are still to be published later. */
  readonly retry?: { readonly events: readonly OutgoingEvent[]; readonly error: PublishError };
};

/**
 * Publishes one batch (in seq order) and says what became of each event.
 *
 * Poison-message policy: a message the broker rejects for good (too large, invalid record) is
 * marked failed and skipped; later events of the same image are still published. Blocking the
 * key instead would stop that image's stream forever for an event no retry can deliver. The
 * failed row keeps its error (publish_error), is counted in orchestrator_events_failed_total and
 * stays visible in GET /api/events. When the broker rejects a whole batch for good without
 * saying which message is at fault, the batch is retried one message at a time to find it.
 */
export async function deliverBatch(
  events: readonly OutgoingEvent[],
  sink: EventSink,
  signal?: AbortSignal,
): Promise<Delivery> {
  const options = signal === undefined ? {} : { signal };
  try {
    const report = await sink.publish(
      events.map((event) => event.message),
      options,
    );
    const ackedAt = new Date();
    if (report.rejected.length === 0) return { published: events, ackedAt, failed: [] };
    const rejected = new Map(report.rejected.map(({ index, error }) => [index, error]));
    const failed = [...rejected].flatMap(([index, error]) => {
      const event = events[index];
      return event === undefined ? [] : [{ event, error }];
    });
    return { published: events.filter((_, index) => !rejected.has(index)), ackedAt, failed };
  } catch (caught) {
    const error = asPublishError(caught);
    if (error.retriable)
      return { published: [], ackedAt: new Date(), failed: [], retry: { events, error } };
    if (events.length === 1 && events[0] !== undefined) {
      return { published: [], ackedAt: new Date(), failed: [{ event: events[0], error }] };
    }
    return deliverOneByOne(events, sink, options);
  }
}

async function deliverOneByOne(
  events: readonly OutgoingEvent[],
  sink: EventSink,
  options: { signal?: AbortSignal },
): Promise<Delivery> {
  const published: OutgoingEvent[] = [];
  const failed: { event: OutgoingEvent; error: PublishError }[] = [];
  for (const [index, event] of events.entries()) {
    try {
      const report = await sink.publish([event.message], options);
      const rejected = report.rejected[0];
      if (rejected === undefined) published.push(event);
      else failed.push({ event, error: rejected.error });
    } catch (caught) {
      const error = asPublishError(caught);
      if (error.retriable) {
        return {
          published,
          ackedAt: new Date(),
          failed,
          retry: { events: events.slice(index), error },
        };
      }
      failed.push({ event, error });
    }
  }
  return { published, ackedAt: new Date(), failed };
}
