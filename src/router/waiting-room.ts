/**
 * Scale to zero's waiting room: requests for a hostname with no ready instance wait here until
 * the table gives it one. A waiting request costs a timer for its deadline and nothing else:
 * the room looks at the table once per change of it (`changed`), for each hostname that has
 * waiters, and wakes each hostname's image on one timer, however many requests wait for it
 * (polling the table per request let one client with thousands of held requests take the
 * router's CPU from every tenant).
 */
export type WaitingRoom = {
  /**
   * Resolves true once `hostname` has a ready instance, false at `deadline` or when `left`
   * fires (the client went away).
   */
  wait(hostname: string, deadline: number, left: AbortSignal): Promise<boolean>;
  /** The table changed: lets in the waiters of every hostname that has a ready instance now. */
  changed(): void;
  /** Requests waiting now (all hostnames). */
  size(): number;
  close(): void;
};

export function createWaitingRoom(options: {
  readonly isReady: (hostname: string) => boolean;
  /** Asks for an instance of the hostname's image; called at once, then every `wakeEveryMs`. */
  readonly wake: (hostname: string) => void;
  readonly wakeEveryMs: number;
}): WaitingRoom {
  type Room = { readonly waiters: Set<(ready: boolean) => void>; readonly timer: NodeJS.Timeout };
  const rooms = new Map<string, Room>();

  const leave = (hostname: string, waiter: (ready: boolean) => void) => {
    const room = rooms.get(hostname);
    if (room === undefined) return;
    room.waiters.delete(waiter);
    if (room.waiters.size === 0) {
      clearInterval(room.timer);
      rooms.delete(hostname);
    }
  };

  const enter = (hostname: string): Room => {
    const existing = rooms.get(hostname);
    if (existing !== undefined) return existing;
    options.wake(hostname);
    const timer = setInterval(() => options.wake(hostname), options.wakeEveryMs);
    const room = { waiters: new Set<(ready: boolean) => void>(), timer };
    rooms.set(hostname, room);
    return room;
  };

  return {
    wait: (hostname, deadline, left) => {
      if (options.isReady(hostname)) return Promise.resolve(true);
      if (left.aborted || Date.now() >= deadline) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const room = enter(hostname);
        const onLeft = () => waiter(false);
        const timer = setTimeout(() => waiter(false), deadline - Date.now());
        function waiter(ready: boolean) {
          clearTimeout(timer);
          left.removeEventListener("abort", onLeft);
          leave(hostname, waiter);
          resolve(ready);
        }
        room.waiters.add(waiter);
        left.addEventListener("abort", onLeft, { once: true });
      });
    },
    changed: () => {
      for (const [hostname, room] of [...rooms]) {
        if (!options.isReady(hostname)) continue;
        for (const waiter of [...room.waiters]) waiter(true);
      }
    },
    size: () => {
      let count = 0;
      for (const room of rooms.values()) count += room.waiters.size;
      return count;
    },
    close: () => {
      for (const room of [...rooms.values()]) for (const waiter of [...room.waiters]) waiter(false);
    },
  };
}
