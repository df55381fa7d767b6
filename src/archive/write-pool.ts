/**
 * Background file writes, a bounded number and size at a time, so parsing the next entries
 * overlaps with the filesystem work of the previous ones. The first failure is kept: later
 * calls and `drain` reject with it.
 */
export type WritePool = {
  /** Waits for room, then starts `write` without waiting for it. */
  readonly run: (bytes: number, write: () => Promise<void>) => Promise<void>;
  /** Waits until every started write has finished; rejects with the first failure. */
  readonly drain: () => Promise<void>;
};

export function createWritePool(maxWrites: number, maxBytes: number): WritePool {
  let active = 0;
  let activeBytes = 0;
  let failed = false;
  let failure: unknown;
  let waiters: Array<() => void> = [];

  function waitForChange(): Promise<void> {
    return new Promise((resolve) => waiters.push(resolve));
  }

  function finished(bytes: number): void {
    active -= 1;
    activeBytes -= bytes;
    const waiting = waiters;
    waiters = [];
    for (const wake of waiting) wake();
  }

  async function run(bytes: number, write: () => Promise<void>): Promise<void> {
    while (!failed && (active >= maxWrites || (active > 0 && activeBytes + bytes > maxBytes))) {
      await waitForChange();
    }
    if (failed) throw failure;
    active += 1;
    activeBytes += bytes;
    write().then(
      () => finished(bytes),
      (error: unknown) => {
        if (!failed) {
          failed = true;
          failure = error;
        }
        finished(bytes);
      },
    );
  }

  async function drain(): Promise<void> {
    while (active > 0) await waitForChange();
    if (failed) throw failure;
  }

  return { run, drain };
}
