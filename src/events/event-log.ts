import { eventsChannel } from "../store/channels.ts";
import type { Store } from "../store/database.ts";
import type { EventFilter, EventRow } from "../store/events-repository.ts";

/**
 * The event log as its readers see it (the events API and its streams): filtered pages, and a
 * call whenever events were committed. One LISTEN per process serves every subscriber;
 * subscribers get a call, never the payload, and read the rows again.
 */
export async function openEventLog(store: Pick<Store, "events" | "listen">) {
  const subscribers = new Set<() => void>();
  const notify = () => {
    for (const subscriber of subscribers) subscriber();
  };
  // After a lost connection, events may have been committed unheard: readers look again.
  const unlisten = await store.listen(eventsChannel, notify, notify);
  return {
    list: (filter: EventFilter): Promise<EventRow[]> => store.events.list(filter),
    /** Calls back whenever events were committed; returns the unsubscribe function. */
    onWritten(callback: () => void): () => void {
      subscribers.add(callback);
      return () => subscribers.delete(callback);
    },
    close: unlisten,
  };
}

export type EventLog = Awaited<ReturnType<typeof openEventLog>>;
