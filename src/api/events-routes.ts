import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { eventTypes } from "../domain/events.ts";
import type { EventLog } from "../events/event-log.ts";
import type { EventFilter } from "../store/events-repository.ts";
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
};

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
});

/** `/api/events`: the event log, filtered and paged; `?follow=1` streams it (SSE, resumable). */
export function eventsRoutes(options: EventsRoutesOptions) {
  const app = new Hono<AppEnv>();

  app.get(
    "/",
    documented({
      summary: "The event log; `?follow=1` streams it as Server-Sent Events",
      description:
        "With `follow`, each event is an SSE message whose `id` is its `seq` (send it back as `Last-Event-ID` to resume) and whose data is the event as JSON; messages carry no event name, so an EventSource's `onmessage` receives them (the type is in the data).",
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

      return streamSSE(c, async (stream) => {
        let cursor = filter.afterSeq;
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
                }
                if (batch.length < 500) break;
              }
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, 15_000).unref();
            });
            wake = undefined;
            if (!pending && !stream.aborted) await stream.write(": keep-alive\n\n");
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
