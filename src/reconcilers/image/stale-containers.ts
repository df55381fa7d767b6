/**
 * Containers whose listed state may be stale. Docker's container list is an eventually
 * consistent view: right after a `die` it may still say "running", while inspecting the
 * container says "exited" at once. Sources that hear of a change mark the container here; the
 * next pass over its image inspects the marked ones instead of trusting the list, so a crash is
 * acted on in the first pass after it, not one list refresh later.
 */
export type StaleContainers = {
  /** Docker said something happened to this container of this image. */
  mark(imageId: number, containerId: string): void;
  /** The marked containers of one image, forgetting them (one pass consumes them). */
  take(imageId: number): ReadonlySet<string>;
};

const none: ReadonlySet<string> = new Set();

export function createStaleContainers(): StaleContainers {
  const marked = new Map<number, Set<string>>();
  return {
    mark(imageId, containerId) {
      if (containerId === "") return;
      let set = marked.get(imageId);
      if (set === undefined) {
        set = new Set();
        marked.set(imageId, set);
      }
      set.add(containerId);
    },
    take(imageId) {
      const set = marked.get(imageId);
      if (set === undefined) return none;
      marked.delete(imageId);
      return set;
    },
  };
}
