import { describe, expect, it } from "vitest";
import type { Executor } from "./executor.ts";
import { createTogether, step, type TogetherCall } from "./together.ts";

const db = { name: "the transaction" } as unknown as Executor;

/** A call of `kind` whose statement doubles each input, recording each run's inputs. */
function doubling(kind: string, input: number, runs: number[][], writes = false) {
  return {
    kind,
    input,
    writes,
    runAll: async (inputs: readonly number[], given: Executor) => {
      expect(given).toBe(db);
      runs.push([...inputs]);
      return inputs.map((value) => value * 2);
    },
  } satisfies TogetherCall<number, number>;
}

describe("steps taken together", () => {
  it("runs the calls of one kind made in one turn as one, each with its own result", async () => {
    const runs: number[][] = [];
    const { forWork } = createTogether(db);
    const results = await Promise.all(
      [1, 2, 3].map((value) => forWork(() => {})(doubling("double", value, runs))),
    );
    expect(results).toEqual([2, 4, 6]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it("runs other kinds apart, and calls of a later turn in a run of their own", async () => {
    const runs: number[][] = [];
    const { forWork } = createTogether(db);
    const together = forWork(() => {});
    const first = Promise.all([
      together(doubling("a", 1, runs)),
      together(doubling("b", 10, runs)),
      together(doubling("a", 2, runs)),
    ]);
    expect(await first).toEqual([2, 20, 4]);
    expect(await together(doubling("a", 3, runs))).toBe(6);
    expect(runs).toEqual([[1, 2], [10], [3]]);
  });

  it("counts every caller of a writing statement as having written, and no caller of a reading one", async () => {
    const runs: number[][] = [];
    const wrote: string[] = [];
    const { forWork } = createTogether(db);
    const left = forWork(() => wrote.push("left"));
    const right = forWork(() => wrote.push("right"));
    await Promise.all([left(doubling("read", 1, runs)), right(doubling("read", 2, runs))]);
    expect(wrote).toEqual([]);
    await Promise.all([
      left(doubling("write", 1, runs, true)),
      right(doubling("write", 2, runs, true)),
    ]);
    expect(wrote).toEqual(["left", "right"]);
  });

  it("fails every caller, and the transaction, when the statement fails or gives a result short", async () => {
    const { forWork, unseenFailure } = createTogether(db);
    const together = forWork(() => {});
    const failing = (input: number): TogetherCall<number, number> => ({
      kind: "failing",
      input,
      writes: false,
      runAll: async () => {
        throw new Error("lock timeout");
      },
    });
    const short = (input: number): TogetherCall<number, number> => ({
      kind: "short",
      input,
      writes: false,
      runAll: async () => [1],
    });
    const failed = await Promise.allSettled([together(failing(1)), together(failing(2))]);
    expect(failed.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    // One caller's error must not be the others' answer: the transaction rolls back.
    expect(unseenFailure()).toMatchObject({ message: "lock timeout" });
    const shorted = await Promise.allSettled([together(short(1)), together(short(2))]);
    expect(shorted).toMatchObject([
      { status: "rejected", reason: { message: "short: 1 results for 2 calls" } },
      { status: "rejected", reason: { message: "short: 1 results for 2 calls" } },
    ]);
  });

  it("lets the callers of a statement they need nothing from go on once it is sent, and waits for it before the end", async () => {
    const { forWork, settled, unseenFailure } = createTogether(db);
    const together = forWork(() => {});
    let finish: (() => void) | undefined;
    let fail: ((error: Error) => void) | undefined;
    const insert = (input: number, outcome: "ends" | "fails"): TogetherCall<number, undefined> => ({
      kind: `insert-${outcome}`,
      input,
      writes: true,
      sentIsEnough: true,
      runAll: (inputs) =>
        new Promise((resolve, reject) => {
          finish = () => resolve(inputs.map(() => undefined));
          fail = reject;
        }),
    });
    // Both callers go on while the statement is still running.
    await Promise.all([together(insert(1, "ends")), together(insert(2, "ends"))]);
    let ended = false;
    const waiting = settled().then(() => {
      ended = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(false);
    finish?.();
    await waiting;
    expect(unseenFailure()).toBeUndefined();

    // A failure nobody waited for is the transaction's to see.
    await together(insert(3, "fails"));
    fail?.(new Error("deadlock detected"));
    await settled();
    expect(unseenFailure()).toMatchObject({ message: "deadlock detected" });
  });

  it("lets the callers of a statement whose result is known go on with it at once, and waits for it before the end", async () => {
    const { forWork, settled } = createTogether(db);
    let finish = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let ended = false;
    const known = (input: number) =>
      ({
        kind: "known",
        input,
        writes: true,
        knownResult: (value: number) => value + 1,
        runAll: async (inputs: readonly number[]) => {
          await finished;
          ended = true;
          return inputs.map((value) => value + 1);
        },
      }) satisfies TogetherCall<number, number>;
    const together = forWork(() => {});
    expect(await Promise.all([together(known(1)), together(known(5))])).toEqual([2, 6]);
    expect(ended).toBe(false);
    const end = settled();
    finish();
    await end;
    expect(ended).toBe(true);
  });

  it("fails the transaction when a statement whose result was known fails, its callers having gone on", async () => {
    const { forWork, settled, unseenFailure } = createTogether(db);
    const given = new Error("the row was not what was foretold");
    const known = (input: number) =>
      ({
        kind: "known",
        input,
        writes: true,
        knownResult: (value: number) => value + 1,
        runAll: async () => {
          throw given;
        },
      }) satisfies TogetherCall<number, number>;
    const together = forWork(() => {});
    expect(await Promise.all([together(known(1)), together(known(5))])).toEqual([2, 6]);
    await settled();
    expect(unseenFailure()).toBe(given);
  });

  it("runs a step alone, as a statement for one, where there is nothing to take it with", async () => {
    const runs: number[][] = [];
    expect(await step(db, undefined, doubling("alone", 4, runs))).toBe(8);
    expect(runs).toEqual([[4]]);
  });
});
