/**
 * The bytes of request bodies the router holds at once, over all clients. Bodies are buffered
 * (so that a request can be sent again), each up to its own limit; without a total, one client
 * sending many large bodies slowly would hold the router's memory, and every tenant's requests
 * with it. A body that would pass the total is refused (503, try again), not held.
 */
export type BodyBudget = {
  /** Takes `bytes` if they fit under the total (true); false, and nothing taken, if not. */
  take(bytes: number): boolean;
  give(bytes: number): void;
  held(): number;
};

export function createBodyBudget(limitBytes: number): BodyBudget {
  let held = 0;
  return {
    take: (bytes) => {
      if (held + bytes > limitBytes) return false;
      held += bytes;
      return true;
    },
    give: (bytes) => {
      held = Math.max(0, held - bytes);
    },
    held: () => held,
  };
}
