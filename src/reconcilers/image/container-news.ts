/**
 * What Docker's event stream just said about containers, for the next pass over their image.
 *
 * - Docker's container list is an eventually consistent view: right after a `die` it may still
 *   say "running", while inspecting the container says "exited" at once (measured on engine
 *   20.10: the list lags by one refresh). A pass inspects the containers it heard of instead
 *   of trusting the list, so a crash is acted on in the first pass after it.
 * - A SIGKILL exit (137) may be an OOM kill that Docker flags a moment later; the recorder waits
 *   briefly for the flag. A `kill` event means someone sent the signal through the engine: that
 *   exit is no OOM, and needs no wait.
 */
export type ContainerNews = {
  /** Docker reported `action` on this container of this image. */
  heard(imageId: number, containerId: string, action: string): void;
  /** The containers of one image heard of since the last call, forgetting them. */
  takeChanged(imageId: number): ReadonlySet<string>;
  /** Whether Docker reported a kill of this container lately (a signal sent through it). */
  wasKilled(containerId: string): boolean;
};

const none: ReadonlySet<string> = new Set();
/** How long a kill event explains an exit. */
const killMemoryMs = 10_000;

export function createContainerNews(now: () => number = Date.now): ContainerNews {
  const changed = new Map<number, Set<string>>();
  const killedAt = new Map<string, number>();

  function forgetOldKills(): void {
    for (const [containerId, at] of killedAt) {
      if (now() - at > killMemoryMs) killedAt.delete(containerId);
    }
  }

  return {
    heard(imageId, containerId, action) {
      if (containerId === "") return;
      let set = changed.get(imageId);
      if (set === undefined) {
        set = new Set();
        changed.set(imageId, set);
      }
      set.add(containerId);
      if (action === "kill") {
        forgetOldKills();
        killedAt.set(containerId, now());
      }
    },
    takeChanged(imageId) {
      const set = changed.get(imageId);
      if (set === undefined) return none;
      changed.delete(imageId);
      return set;
    },
    wasKilled(containerId) {
      const at = killedAt.get(containerId);
      return at !== undefined && now() - at <= killMemoryMs;
    },
  };
}
