/**
 * The ids of the most recent events, for deduplication (delivery is at-least-once), kept
 * immutable as the route table is, at a small cost per id: the ids are held in chunks, and
 * adding one copies only the newest chunk; the oldest chunk goes when there are too many.
 * Copying one set of every id (10,000 of them) on each event cost the router ~2 ms an event.
 */
export class RecentIds {
  /** About 10,000 ids: a redelivered batch is far smaller. */
  static readonly empty = RecentIds.keeping(500, 20);

  /** Oldest first; every chunk but the last is full and never changes again. */
  readonly #chunks: readonly ReadonlySet<string>[];
  readonly #chunkSize: number;
  readonly #maxChunks: number;

  private constructor(
    chunks: readonly ReadonlySet<string>[],
    chunkSize: number,
    maxChunks: number,
  ) {
    this.#chunks = chunks;
    this.#chunkSize = chunkSize;
    this.#maxChunks = maxChunks;
  }

  /** Remembers the last `chunkSize * (maxChunks - 1)` ids at least, `chunkSize * maxChunks` at most. */
  static keeping(chunkSize: number, maxChunks: number): RecentIds {
    return new RecentIds([], chunkSize, maxChunks);
  }

  has(id: string): boolean {
    for (const chunk of this.#chunks) if (chunk.has(id)) return true;
    return false;
  }

  /** These ids and `id`, the oldest chunk forgotten past the limit. */
  with(id: string): RecentIds {
    const last = this.#chunks.at(-1);
    if (last !== undefined && last.size < this.#chunkSize) {
      const grown = new Set(last);
      grown.add(id);
      return new RecentIds([...this.#chunks.slice(0, -1), grown], this.#chunkSize, this.#maxChunks);
    }
    const chunks = [...this.#chunks, new Set([id])];
    return new RecentIds(chunks.slice(-this.#maxChunks), this.#chunkSize, this.#maxChunks);
  }
}
