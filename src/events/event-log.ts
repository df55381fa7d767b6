import type { Store } from "./database.ts";

/** The channel a trigger notifies once per transaction that inserted events. */
export const eventsChannel = "orchestrator_events";

/**
 * One LISTEN per process for "events were written", shared by every subscriber (event streams,
 * the relay); subscribers get a call, never the payload.
 */
export async function createEventNotifier(store: Store) {
  const subscribers = new Set<() => void>();
  const unlisten = await store.listen(eventsChannel, () => {
    for (const subscriber of subscribers) subscriber();
  });
  return {
    subscribe(callback: () => void): () => void {
      subscribers.add(callback);
      return () => subscribers.delete(callback);
    },
    close: unlisten,
  };
}

export type EventNotifier = Awaited<ReturnType<typeof createEventNotifier>>;
