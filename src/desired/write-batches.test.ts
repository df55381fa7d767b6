import { describe, expect, it, vi } from "vitest";
import type { Repositories } from "../store/repositories.ts";
import { type SharedOutcome, SharedTransactionRolledBack } from "../store/shared-transaction.ts";
import { createWriteBatcher, takeBatch, WriteAlone } from "./write-batches.ts";

const limits = { inFlight: 1, size: 3, lockTimeoutMs: 250, deadlineMs: 60_000 };

/** A write whose work is the same in a group and alone. */
const both = <T>(work: () => Promise<T>) => ({ shared: work, alone: work });

/**
 * A store whose transactions finish when the test says so: each call is recorded with the works
 * it was given, which run at once against a placeholder (they only return values here).
 */
function heldStore() {
  const tx = {} as Repositories;
  const shared: Array<{
    works: number;
    results: Promise<unknown[]>;
    settle: (outcome: (results: unknown[]) => SharedOutcome<unknown>[] | Error) => void;
  }> = [];
  const alone: unknown[] = [];
  const store = {
    transaction: async <T>(work: (tx: Repositories) => Promise<T>): Promise<T> => {
      const value = await work(tx);
      alone.push(value);
      return value;
    },
    sharedTransaction: <T>(works: ReadonlyArray<(tx: Repositories) => Promise<T>>) =>
      new Promise<SharedOutcome<T>[]>((resolve, reject) => {
        // What each work gave: its value, or what it threw.
        const results = Promise.allSettled(works.map((work) => work(tx))).then((settled) =>
          settled.map((result) => (result.status === "fulfilled" ? result.value : result.reason)),
        );
        shared.push({
          works: works.length,
          results,
          settle: (outcome) => {
            void results.then((values) => {
              const decided = outcome(values);
              if (decided instanceof Error) reject(decided);
              else resolve(decided as SharedOutcome<T>[]);
            });
          },
        });
      }),
  };
  return { store, shared, alone };
}

const committed = (values: unknown[]) =>
  values.map((value): SharedOutcome<unknown> => ({ status: "committed", value }));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("takeBatch", () => {
  it("takes writes in arrival order up to the size, one per key", () => {
    const queue = ["5", "3", "5", "9", "1", "3", "7"].map((key, index) => ({ key, index }));
    const { batch, rest } = takeBatch(queue, 4);
    expect(batch.map((write) => write.index)).toEqual([0, 1, 3, 4]);
    // What waits keeps its order: the second write of 5 and of 3, and 7 past the size.
    expect(rest.map((write) => write.index)).toEqual([2, 5, 6]);
  });

  it("takes nothing from an empty queue", () => {
    expect(takeBatch([], 4)).toEqual({ batch: [], rest: [] });
  });
});

describe("createWriteBatcher", () => {
  it("starts a write at once when nothing runs, and groups those that arrive meanwhile", async () => {
    const { store, shared } = heldStore();
    const batcher = createWriteBatcher(store, limits);
    const first = batcher.run(
      "1",
      both(async () => "first"),
    );
    await tick();
    expect(shared.map((call) => call.works)).toEqual([1]);
    const later = [2, 3, 4, 5].map((key) =>
      batcher.run(
        String(key),
        both(async () => `write ${key}`),
      ),
    );
    await tick();
    // One shared transaction at a time: the others wait for the first to end.
    expect(shared).toHaveLength(1);
    shared[0]?.settle(committed);
    await expect(first).resolves.toBe("first");
    await tick();
    // Then up to `size` together, and the one past it next.
    expect(shared.map((call) => call.works)).toEqual([1, 3]);
    shared[1]?.settle(committed);
    await tick();
    expect(shared.map((call) => call.works)).toEqual([1, 3, 1]);
    shared[2]?.settle(committed);
    await expect(Promise.all(later)).resolves.toEqual(["write 2", "write 3", "write 4", "write 5"]);
  });

  it("never puts two writes of one image in one transaction", async () => {
    const { store, shared } = heldStore();
    const batcher = createWriteBatcher(store, limits);
    const blocker = batcher.run(
      "9",
      both(async () => "blocker"),
    );
    const writes = [
      batcher.run(
        "1",
        both(async () => "a"),
      ),
      batcher.run(
        "1",
        both(async () => "b"),
      ),
    ];
    await tick();
    shared[0]?.settle(committed);
    await blocker;
    await tick();
    expect(shared.map((call) => call.works)).toEqual([1, 1]);
    shared[1]?.settle(committed);
    await tick();
    expect(shared.map((call) => call.works)).toEqual([1, 1, 1]);
    shared[2]?.settle(committed);
    await expect(Promise.all(writes)).resolves.toEqual(["a", "b"]);
  });

  it("answers a write refused in a committed transaction with its own error, the others with theirs", async () => {
    const { store, shared } = heldStore();
    const batcher = createWriteBatcher(store, limits);
    const blocker = batcher.run(
      "9",
      both(async () => "blocker"),
    );
    const kept = batcher.run(
      "1",
      both(async () => "kept"),
    );
    const refused = batcher.run(
      "2",
      both(async () => "refused"),
    );
    await tick();
    shared[0]?.settle(committed);
    await blocker;
    await tick();
    shared[1]?.settle((values) => [
      { status: "committed", value: values[0] },
      { status: "refused", reason: new Error("stale resource_version") },
    ]);
    await expect(kept).resolves.toBe("kept");
    await expect(refused).rejects.toThrow("stale resource_version");
  });

  it("runs each write of a rolled-back transaction again alone, and frees its turn first", async () => {
    const { store, shared, alone } = heldStore();
    const batcher = createWriteBatcher(store, limits);
    const blocker = batcher.run(
      "9",
      both(async () => "blocker"),
    );
    let runs = 0;
    const rolledBack = [1, 2].map((key) =>
      batcher.run(
        String(key),
        both(async () => {
          runs += 1;
          return `write ${key}`;
        }),
      ),
    );
    await tick();
    shared[0]?.settle(committed);
    await blocker;
    await tick();
    shared[1]?.settle(() => new SharedTransactionRolledBack(new Error("lock timeout")));
    await expect(Promise.all(rolledBack)).resolves.toEqual(["write 1", "write 2"]);
    // Once in the shared transaction, once alone.
    expect(runs).toBe(4);
    expect(alone).toEqual(["write 1", "write 2"]);
    // The next write starts in a shared transaction of its own at once.
    const next = batcher.run(
      "3",
      both(async () => "next"),
    );
    await tick();
    expect(shared.map((call) => call.works)).toEqual([1, 2, 1]);
    shared[2]?.settle(committed);
    await expect(next).resolves.toBe("next");
  });

  it("answers every write of a transaction that failed otherwise with that error (not run again)", async () => {
    const { store, shared, alone } = heldStore();
    const batcher = createWriteBatcher(store, limits);
    const writes = [
      batcher.run(
        "1",
        both(async () => "a"),
      ),
    ];
    await tick();
    shared[0]?.settle(() => new Error("connection lost during COMMIT"));
    await expect(writes[0]).rejects.toThrow("connection lost during COMMIT");
    expect(alone).toEqual([]);
  });
  it("runs a write that would wait for a lock alone, at once, while its group commits", async () => {
    const { store, shared, alone } = heldStore();
    const batcher = createWriteBatcher(store, limits);
    const blocker = batcher.run(
      "9",
      both(async () => "blocker"),
    );
    const kept = batcher.run(
      "1",
      both(async () => "kept"),
    );
    const busy = batcher.run("2", {
      shared: async () => {
        throw new WriteAlone();
      },
      alone: async () => "written alone",
    });
    await tick();
    shared[0]?.settle(committed);
    await blocker;
    await tick();
    shared[1]?.settle((values) => [
      { status: "committed", value: values[0] },
      { status: "refused", reason: new WriteAlone() },
    ]);
    await expect(kept).resolves.toBe("kept");
    await expect(busy).resolves.toBe("written alone");
    expect(alone).toEqual(["written alone"]);
  });

  it("gives the turn to the next group when one has not ended by its deadline", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const { store, shared } = heldStore();
      const batcher = createWriteBatcher(store, { ...limits, deadlineMs: 2_000 });
      const stuck = batcher.run(
        "1",
        both(async () => "stuck"),
      );
      const next = batcher.run(
        "2",
        both(async () => "next"),
      );
      await tick();
      expect(shared).toHaveLength(1);
      vi.advanceTimersByTime(1_999);
      await tick();
      expect(shared).toHaveLength(1);
      vi.advanceTimersByTime(1);
      await tick();
      expect(shared.map((call) => call.works)).toEqual([1, 1]);
      shared[1]?.settle(committed);
      await expect(next).resolves.toBe("next");
      // The late one is still answered when it ends, and does not give a second turn.
      shared[0]?.settle(committed);
      await expect(stuck).resolves.toBe("stuck");
      const third = [
        batcher.run(
          "3",
          both(async () => "c"),
        ),
        batcher.run(
          "4",
          both(async () => "d"),
        ),
      ];
      await tick();
      expect(shared.map((call) => call.works)).toEqual([1, 1, 1]);
      shared[2]?.settle(committed);
      await tick();
      expect(shared.map((call) => call.works)).toEqual([1, 1, 1, 1]);
      shared[3]?.settle(committed);
      await expect(Promise.all(third)).resolves.toEqual(["c", "d"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
