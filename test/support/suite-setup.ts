/**
 * What a suite's `beforeAll` makes (a server, a browser, a folder), each with how to remove it,
 * so that its `afterAll` removes exactly what exists, even when the hook timed out.
 *
 * A `beforeAll` that times out is not stopped: vitest runs the `afterAll` and the hook goes on
 * in the background. Without this, what the hook made after the `afterAll` ran was never
 * removed (and the run's teardown failed the whole run for it). Here it is removed as soon as it
 * exists, and the hook stops there. The `afterAll` also says which step was still running, the
 * one to look at when a setup was slow.
 */
export type SuiteSetup = {
  /** Runs `make`, and keeps `remove` for the end of the suite. */
  make<T>(step: string, make: () => Promise<T>, remove?: (made: T) => Promise<unknown>): Promise<T>;
  /** Removes everything made, last made first; what is made from now on is removed at once. */
  removeAll(): Promise<void>;
};

export function suiteSetup(): SuiteSetup {
  const removals: Array<() => Promise<unknown>> = [];
  const running = new Map<string, number>();
  let ended = false;

  return {
    async make(step, make, remove) {
      if (ended) throw new Error(`the suite ended before its setup reached "${step}"`);
      running.set(step, performance.now());
      let made: Awaited<ReturnType<typeof make>>;
      try {
        made = await make();
      } finally {
        running.delete(step);
      }
      if (remove === undefined) return made;
      if (ended) {
        await remove(made);
        throw new Error(`the suite ended while its setup made "${step}"; removed it`);
      }
      removals.push(() => remove(made));
      return made;
    },
    async removeAll() {
      ended = true;
      for (const [step, since] of running) {
        console.warn(
          `[suite setup] the suite ends while its setup is still at "${step}" (for ${Math.round((performance.now() - since) / 1000)} s)`,
        );
      }
      const failures: unknown[] = [];
      for (const removal of removals.splice(0).reverse()) {
        try {
          await removal();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, "removing the suite's setup");
    },
  };
}
