import type { Orchestrator } from "../client/index.ts";
import type { Logger } from "../logger.ts";
import type { RouterEvent } from "./route-table.ts";

/**
 * Feeds the router from the API's event stream (`GET /api/events?follow=1`), from the first
 * retained event (`after: 0`), so the table is rebuilt from history on every start; the client
 * reconnects with `Last-Event-ID` on its own. Needs a token that sees every image routed (the
 * admin's, or the one user's whose images these are).
 */
export function startSseSource(
  client: Orchestrator,
  onEvent: (event: RouterEvent) => void,
  logger: Logger,
): { stop(): void; done: Promise<void> } {
  const controller = new AbortController();
  const done = (async () => {
    for await (const event of client.events({ after: 0, signal: controller.signal })) {
      onEvent({ id: event.id, type: event.type, data: event.data as Record<string, unknown> });
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) logger.error({ err: error }, "event stream failed");
    throw error;
  });
  return { stop: () => controller.abort(), done };
}
