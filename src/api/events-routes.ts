import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { eventTypes } from "../domain/events.ts";
import type { EventLog } from "../events/event-log.ts";
import type { EventFilter } from "../store/events-repository.ts";
import type {
  HealthSnapshot,
  HealthSnapshotsRepository,
} from "../store/health-snapshots-repository.ts";
import type { AppEnv } from "./app-env.ts";
import { documented } from "./openapi/route-doc.ts";
import { presentEvent } from "./presenters.ts";
import { eventPageSchema } from "./schemas/event-schemas.ts";
import { scopeOf } from "./tenant.ts";
import { queryParams } from "./validation.ts";

export type EventsRoutesOptions = {
  readonly events: Pick<EventLog, "list" | "onWritten">;
  /** Aborted at shutdown: open streams end. */
  readonly shutdown: AbortSignal;
  /** Resource samples, for `?metrics=1` streams. */
  readonly samples?: Pick<HealthSnapshotsRepository, "after" | "newestId">;
};

/** How often a `metrics` stream looks for new samples (they come every HEALTH_INTERVAL). */
const metricsPollMs = 1_000;
const keepAliveMs = 15_000;

function presentSample(sample: HealthSnapshot) {
  return {
    type: "metrics" as const,
    instance_id: sample.instance_id,
    image_id: sample.image_id,
    container_id: sample.container_id,
    sampled_at: sample.sampled_at.toISOString(),
    status: sample.status,
    cpu_usage: sample.cpu_usage,
    memory_usage: sample.memory_usage,
    memory_bytes: sample.memory_bytes,
    network_rx_bytes: sample.network_rx_bytes,
    network_tx_bytes: sample.network_tx_bytes,
    block_read_bytes: sample.block_read_bytes,
    block_write_bytes: sample.block_write_bytes,
  };
}

const positiveInt = z
  .string()
  .regex(/^\d{1,15}$/, { message: "must be a whole number" })
  .transform(Number);

const eventsQuery = z.strictObject({
  image_id: positiveInt.optional(),
  instance_id: z.string().max(64).optional(),
  type: z
    .string()
    .transform((value) => value.split(",").map((type) => type.trim()))
    .pipe(z.array(z.enum(eventTypes, { message: `must be one of ${eventTypes.join(", ")}` })))
    .optional(),
  since: z.iso
    .datetime({ offset: true, message: "must be an RFC 3339 time" })
    .transform((value) => new Date(value))
    .optional(),
  after: positiveInt.optional(),
  limit: positiveInt.pipe(z.number().min(1).max(1000)).optional(),
  follow: z.enum(["0", "1", "true", "false"]).optional(),
  metrics: z
    .enum(["0", "1", "true", "false"])
    .optional()
    .describe(
      'with follow: also stream each instance\'s resource samples as they are taken, as unnamed messages without an id whose data has `type: "metrics"`',
    ),
});

/** `/api/events`: the event log, filtered and paged; `?follow=1` streams it (SSE, resumable). */
export function eventsRoutes(options: EventsRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/",
    documented({
      summary: "The event log; `?follow=1` streams it as Server-Sent Events",
      description:
        "With `follow`, each event is an SSE message whose `id` is its `seq` (send it back as `Last-Event-ID` to resume) and whose data is the event as JSON; messages carry no event name, so an EventSource's `onmessage` receives them (the type is in the data). With `metrics=1` too, resource samples (`MetricsSample`: cpu, memory, network rx/tx, block I/O) come as messages without an id.",
      tags: ["events"],
      query: eventsQuery,
      headers: { "Last-Event-ID": "resume a stream after this seq" },
      responses: {
        200: {
          description: "A page of events (JSON), or the stream (text/event-stream)",
          body: eventPageSchema,
        },
      },
    }),
    async (c) => {
      const query = queryParams(c, eventsQuery);
      const lastEventId = c.req.header("last-event-id");
      const resumeAfter =
        lastEventId !== undefined && /^\d+$/.test(lastEventId) ? Number(lastEventId) : undefined;
      const filter: EventFilter = {
        userId: scopeOf(c.get("principal")).userId,
        imageId: query.image_id,
        instanceId: query.instance_id,
        types: query.type,
        since: query.since,
        afterSeq: resumeAfter ?? query.after,
        limit: query.limit ?? 100,
      };

      if (query.follow !== "1" && query.follow !== "true") {
        const events = await options.events.list(filter);
        const last = events[events.length - 1];
        return c.json({
          items: events.map(presentEvent),
          next_after: last?.seq ?? filter.afterSeq ?? null,
        });
      }

      const samples =
        query.metrics === "1" || query.metrics === "true" ? options.samples : undefined;
      return streamSSE(c, async (stream) => {
        let cursor = filter.afterSeq;
        let sampleCursor = samples === undefined ? 0 : await samples.newestId();
        let lastWrite = Date.now();
        let wake: (() => void) | undefined;
        let pending = true;
        const unsubscribe = options.events.onWritten(() => {
          pending = true;
          wake?.();
        });
        const abort = () => wake?.();
        options.shutdown.addEventListener("abort", abort);
        stream.onAbort(abort);
        try {
          while (!stream.aborted && !stream.closed && !options.shutdown.aborted) {
            if (pending) {
              pending = false;
              for (;;) {
                const batch = await options.events.list({
                  ...filter,
                  afterSeq: cursor,
                  limit: 500,
                });
                for (const event of batch) {
                  // Unnamed (an EventSource's `onmessage` gets it); the type is in the data.
                  await stream.writeSSE({
                    id: String(event.seq),
                    data: JSON.stringify(presentEvent(event)),
                  });
                  cursor = event.seq;
                  lastWrite = Date.now();
                }
                if (batch.length < 500) break;
              }
            }
            if (samples !== undefined) {
              const taken = await samples.after(
                sampleCursor,
                { userId: filter.userId, imageId: filter.imageId, instanceId: filter.instanceId },
                500,
              );
              for (const sample of taken) {
                await stream.writeSSE({ data: JSON.stringify(presentSample(sample)) });
                sampleCursor = sample.id;
                lastWrite = Date.now();
              }
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, samples === undefined ? keepAliveMs : metricsPollMs).unref();
            });
            wake = undefined;
            if (!pending && !stream.aborted && Date.now() - lastWrite >= keepAliveMs) {
              await stream.write(": keep-alive\n\n");
              lastWrite = Date.now();
            }
          }
        } finally {
          unsubscribe();
          options.shutdown.removeEventListener("abort", abort);
        }
      });
    },
  );

  return app;
}
