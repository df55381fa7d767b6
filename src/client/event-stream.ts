import { OrchestratorError } from "./errors.ts";
import { sseMessages } from "./sse.ts";
import type { Transport } from "./transport.ts";
import type { EventType, MetricsSample, OrchestratorEvent } from "./types.ts";

export type EventStreamOptions = {
  /** Only these types (`container.started`, …). */
  readonly types?: readonly EventType[];
  /** Only this image's events (its id). */
  readonly image?: number;
  /** Only this instance's events. */
  readonly instance?: string;
  /** Start after this `seq` (default: only events written from now on). */
  readonly after?: number;
  readonly signal?: AbortSignal;
  /** Resource samples too (`type: "metrics"`), as they are taken; they have no seq. */
  readonly metrics?: boolean;
  /** First wait before a reconnect; doubles to 5 s while the server stays away. */
  readonly reconnectDelayMs?: number;
};

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/** The newest `seq` of the log the caller may see (where "from now on" starts). */
async function newestSeq(transport: Transport, options: EventStreamOptions): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await transport.call<{ items: OrchestratorEvent[]; next_after: number | null }>(
      "GET",
      "/api/events",
      {
        query: { after, limit: 1000, image_id: options.image },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
    if (page.items.length < 1000) return page.next_after ?? after;
    after = page.next_after ?? after;
  }
}

/**
 * The event stream as an async iterator: Server-Sent Events from `GET /api/events?follow=1`,
 * reconnecting (with `Last-Event-ID`: the server resumes right after the last event seen) when
 * the connection drops or the server restarts, so no event is lost; an event already seen is
 * never yielded twice. Ends when `signal` aborts; a refusal (401, 403, 422) is thrown.
 */
export async function* followEvents(
  transport: Transport,
  options: EventStreamOptions = {},
): AsyncGenerator<OrchestratorEvent | MetricsSample> {
  let lastSeq = options.after;
  let delay = options.reconnectDelayMs ?? 250;
  const query = {
    follow: 1,
    ...(options.types === undefined ? {} : { type: options.types.join(",") }),
    image_id: options.image,
    instance_id: options.instance,
    metrics: options.metrics ? 1 : undefined,
  };
  while (!options.signal?.aborted) {
    try {
      lastSeq ??= await newestSeq(transport, options);
      const response = await transport.send("GET", "/api/events", {
        query,
        headers: { accept: "text/event-stream", "last-event-id": String(lastSeq) },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (response.body === null) throw new Error("the stream has no body");
      for await (const message of sseMessages(response.body)) {
        const item = JSON.parse(message.data) as OrchestratorEvent | MetricsSample;
        if (item.type === "metrics") {
          yield item;
          continue;
        }
        const event = item;
        if (lastSeq !== undefined && event.seq <= lastSeq) continue;
        lastSeq = event.seq;
        delay = options.reconnectDelayMs ?? 250;
        yield event;
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      const refused =
        error instanceof OrchestratorError && error.status >= 400 && error.status < 500;
      if (refused && error.status !== 429) throw error;
    }
    await sleep(delay, options.signal);
    delay = Math.min(delay * 2, 5_000);
  }
}
