import type { EventType, Orchestrator, OrchestratorEvent } from "../client/index.ts";

export type EventQuery = { readonly image?: number; readonly types?: readonly EventType[] };

/**
 * The last `limit` events of the log that match (oldest first), and the newest seq seen: the
 * cursor a watch goes on from, so that nothing written after this read is missed.
 */
export async function latestEvents(
  client: Orchestrator,
  query: EventQuery,
  limit: number,
  keep: (event: OrchestratorEvent) => boolean = () => true,
): Promise<{ readonly events: OrchestratorEvent[]; readonly newest: number }> {
  let events: OrchestratorEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await client.eventLog({ ...query, after, limit: 1000 });
    if (limit > 0) events = [...events, ...page.items.filter(keep)].slice(-limit);
    after = page.next_after ?? after;
    if (page.items.length < 1000) return { events, newest: after };
  }
}
