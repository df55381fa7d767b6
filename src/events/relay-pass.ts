import type { Logger } from "../logger.ts";
import type { EventsRepository } from "../store/events-repository.ts";
import { type Delivery, deliverBatch, prepareBatch } from "./deliver-batch.ts";
import type { EventSink, PublishError } from "./event-sink.ts";
import type { RelayMetrics } from "./relay-metrics.ts";

export type PassResult =
  | { readonly kind: "idle" }
  | { readonly kind: "busy" }
  | { readonly kind: "retry"; readonly error: PublishError | Error; readonly pending: number };

export type PassOptions = {
  readonly sink: EventSink;
  readonly source: string;
  readonly batchSize: number;
  readonly logger: Logger;
  readonly metrics: RelayMetrics | undefined;
  /** Aborts a publish that is waiting for the broker (stop). */
  readonly signal: AbortSignal;
};

/** Writes what became of a batch: published, failed for good, or one more attempt. */
async function writeOutcome(delivery: Delivery, events: EventsRepository, logger: Logger) {
  await events.markPublished(
    delivery.published.map((event) => event.seq),
    delivery.ackedAt,
  );
  for (const { event, error } of delivery.failed) {
    logger.error(
      {
        eventId: event.id,
        seq: event.seq,
        imageId: event.image_id,
        type: event.type,
        code: error.code,
        error: error.message,
      },
      "event rejected by the broker for good; marked failed",
    );
    await events.markFailed(event.seq, `${error.code}: ${error.message}`, delivery.ackedAt);
  }
  if (delivery.retry !== undefined) {
    await events.recordAttempt(
      delivery.retry.events.map((event) => event.seq),
      `${delivery.retry.error.code}: ${delivery.retry.error.message}`,
    );
  }
}

function observe(delivery: Delivery, metrics: RelayMetrics | undefined) {
  if (metrics === undefined) return;
  const ackedAt = delivery.ackedAt.getTime();
  metrics.published(
    delivery.published.map((event) => Math.max(0, (ackedAt - event.time.getTime()) / 1000)),
  );
  metrics.failed(delivery.failed.length);
}

/**
 * One relay pass, run under the claim: batches in seq order until nothing is pending or one
 * fails. Pipelined: while batch n is on the wire, the marks of batch n-1 are written and batch
 * n+1 is read (queries still run one at a time on the executor; only the wait for the broker
 * overlaps). Batch n+1 is sent only after batch n was acknowledged, so order holds; a crash
 * between an acknowledgement and its marks publishes that batch again (at-least-once).
 */
export function relayPass(options: PassOptions) {
  const { sink, source, batchSize, logger, metrics, signal } = options;

  const record = async (delivery: Delivery, events: EventsRepository) => {
    await writeOutcome(delivery, events, logger);
    observe(delivery, metrics);
    if (delivery.published.length > 0) {
      logger.debug(
        { count: delivery.published.length, lastSeq: delivery.published.at(-1)?.seq },
        "events published",
      );
    }
  };

  return async (outbox: EventsRepository): Promise<PassResult> => {
    let marking: Promise<void> = Promise.resolve();
    try {
      // Each batch becomes its messages as soon as it is read (see OutgoingEvent).
      const read = async (inFlight?: readonly number[]) =>
        prepareBatch(await outbox.selectPending(batchSize, inFlight), source);
      let events = await read();
      while (events.length > 0) {
        const sending = deliverBatch(events, sink, signal);
        const inFlight = events.map((event) => event.seq);
        const next =
          events.length < batchSize ? Promise.resolve([]) : marking.then(() => read(inFlight));
        next.catch(() => {}); // awaited below; a failure must not count as unhandled meanwhile
        const delivery = await sending;
        await marking;
        marking = record(delivery, outbox);
        marking.catch(() => {});
        if (delivery.retry !== undefined) {
          await marking;
          return {
            kind: "retry",
            error: delivery.retry.error,
            pending: delivery.retry.events.length,
          };
        }
        events = await next;
      }
      await marking;
      return { kind: "idle" };
    } finally {
      // Never give the claim back while marks are still being written.
      await marking.catch(() => {});
    }
  };
}
