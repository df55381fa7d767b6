import { describe, expect, it, vi } from "vitest";
import { createLogger } from "../logger.ts";
import { type LeaderLock, LeadershipLostError } from "../store/sql-backend.ts";
import { type LeaderTerm, runWhileLeading } from "./leader-election.ts";

/** A lock that is always granted and whose own check always passes: only the term decides. */
function grantedLock(): LeaderLock & { released: boolean } {
  const lock = {
    epoch: 7,
    lost: new Promise<void>(() => {}),
    released: false,
    confirm: async () => {},
    release: async () => {
      lock.released = true;
    },
  };
  return lock;
}

async function leading() {
  const lock = grantedLock();
  let term: LeaderTerm | undefined;
  const election = runWhileLeading({
    tryLock: async () => lock,
    logger: createLogger("silent"),
    lead: async (started) => {
      term = started;
    },
  });
  await expect.poll(() => term).toBeDefined();
  return { lock, election, term: term as LeaderTerm };
}

/** Starts a stop with a long deadline; `returned()` tells whether it has returned yet. */
function stopInBackground(election: { stop(deadlineMs: number): Promise<void> }) {
  let returned = false;
  const done = election.stop(60_000).then(() => {
    returned = true;
  });
  return { done, returned: () => returned };
}

/** Lets what is already due run: one turn of the event loop. */
const oneTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("a leader term's fencing check", () => {
  it("passes while the term lasts", async () => {
    const { election, term } = await leading();
    await expect(term.confirm()).resolves.toBeUndefined();
    await election.stop(1_000);
  });

  it("refuses from the moment the term starts to end, before the lock is released", async () => {
    const { lock, election, term } = await leading();
    // What the controller's stop sees while it waits for in-flight reconciles.
    let duringStop: Promise<void> | undefined;
    let releasedDuringStop: boolean | undefined;
    term.defer(async () => {
      releasedDuringStop = lock.released;
      duringStop = term.confirm();
      await duringStop.catch(() => {});
    });
    await election.stop(1_000);
    expect(releasedDuringStop).toBe(false);
    await expect(duringStop).rejects.toThrow(LeadershipLostError);
    expect(term.active).toBe(false);
  });

  it("refuses after the term ended: a reconcile abandoned at stop's deadline writes nothing", async () => {
    const { lock, election, term } = await leading();
    await election.stop(1_000);
    expect(lock.released).toBe(true);
    await expect(term.confirm()).rejects.toThrow(/epoch 7 ended/);
  });

  it("ends only after the writes it started settled, and before releasing the lock", async () => {
    const { lock, election, term } = await leading();
    let finishWrite: (() => void) | undefined;
    let releasedWhenWriteFinished: boolean | undefined;
    const write = term.fence(
      () =>
        new Promise<string>((resolve) => {
          finishWrite = () => {
            releasedWhenWriteFinished = lock.released;
            resolve("created");
          };
        }),
    );
    await expect.poll(() => finishWrite).toBeDefined();
    const stop = stopInBackground(election);
    // The term has ended (new writes refuse) but stop waits for the one on the wire.
    await expect(term.fence(async () => "late")).rejects.toThrow(LeadershipLostError);
    await oneTurn();
    expect(stop.returned()).toBe(false);
    expect(lock.released).toBe(false);
    finishWrite?.();
    await expect(write).resolves.toBe("created");
    await stop.done;
    expect(releasedWhenWriteFinished).toBe(false);
    expect(lock.released).toBe(true);
  });

  it("refuses a write whose check was on the wire when the term started to end", async () => {
    const { lock, election, term } = await leading();
    let answerCheck: (() => void) | undefined;
    lock.confirm = () =>
      new Promise<void>((resolve) => {
        answerCheck = resolve;
      });
    let wrote = false;
    const write = term.fence(async () => {
      wrote = true;
    });
    await expect.poll(() => answerCheck).toBeDefined();
    const stopping = election.stop(1_000);
    answerCheck?.();
    await expect(write).rejects.toThrow(LeadershipLostError);
    await stopping;
    expect(wrote).toBe(false);
  });

  it("waits for writes only for what is left of the deadline the undos already spent", async () => {
    const { lock, election, term } = await leading();
    // A reconcile blocked on a write that never settles: the controller's stop (an undo)
    // waits for it up to the deadline, and then the write is still there.
    let writing = false;
    const write = term.fence(() => {
      writing = true;
      return new Promise<void>(() => {});
    });
    await expect.poll(() => writing).toBe(true);
    // The clock from here on is the test's: what is measured is time the end waits, not the
    // machine's speed.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    try {
      term.defer(async (deadlineMs) => {
        await Promise.race([write, new Promise((resolve) => setTimeout(resolve, deadlineMs))]);
      });
      let stopped = false;
      const stopping = election.stop(400).then(() => {
        stopped = true;
      });
      await vi.advanceTimersByTimeAsync(399);
      expect(stopped).toBe(false);
      // One deadline (serve's exit timer allows it and a little more), not one per wait: done
      // once it is over, and the few timers of no delay that end the waits have fired.
      await vi.advanceTimersByTimeAsync(10);
      expect(stopped).toBe(true);
      await stopping;
      expect(lock.released).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not let a slow undo eat the controller's stop's deadline", async () => {
    const { election, term } = await leading();
    const order: string[] = [];
    let given: number | undefined;
    let controllerStopped: (() => void) | undefined;
    const controllerStop = new Promise<void>((resolve) => {
      controllerStopped = resolve;
    });
    // Registered first, undone last: the controller's stop.
    term.defer((deadlineMs) => {
      order.push("controller");
      given = deadlineMs;
      controllerStopped?.();
    });
    // A slow piece (an autoscaler round waiting on a router) that ends only after the
    // controller's stop has begun: undone one after the other, the end would wait for ever.
    term.defer(async () => {
      order.push("autoscaler");
      await controllerStop;
    });
    await election.stop(60_000);
    expect(order).toEqual(["autoscaler", "controller"]);
    // What is left of the deadline when the undos start: not what the slow one left.
    expect(given).toBeGreaterThan(50_000);
  });

  it("ends at the deadline though an undo never finishes", async () => {
    const { lock, election, term } = await leading();
    term.defer(() => new Promise<void>(() => {}));
    await election.stop(100);
    expect(lock.released).toBe(true);
  });

  it("gives up waiting for an unlock at the deadline", async () => {
    const { lock, election } = await leading();
    let unlocking = false;
    lock.release = () => {
      unlocking = true;
      return new Promise<void>(() => {});
    };
    await election.stop(50);
    expect(unlocking).toBe(true);
  });

  it("gives up waiting for a write at the deadline", async () => {
    const { lock, election, term } = await leading();
    // Started (its check answered) before the stop: else the fence refuses it, unhandled.
    let writing = false;
    void term.fence(() => {
      writing = true;
      return new Promise<void>(() => {});
    });
    await expect.poll(() => writing).toBe(true);
    await election.stop(50);
    expect(lock.released).toBe(true);
  });

  it("does not lead when the lock comes after stop returned, and releases that lock", async () => {
    const lock = grantedLock();
    let grant: ((granted: LeaderLock) => void) | undefined;
    let led = false;
    const election = runWhileLeading({
      tryLock: () =>
        new Promise<LeaderLock>((resolve) => {
          grant = resolve;
        }),
      logger: createLogger("silent"),
      lead: async () => {
        led = true;
      },
    });
    await expect.poll(() => grant).toBeDefined();
    await election.stop(1_000);
    grant?.(lock);
    await expect.poll(() => lock.released).toBe(true);
    expect(led).toBe(false);
  });
});

describe("a lead still starting when stop comes", () => {
  it("is waited for, and what it sets up in the ended term is undone at once", async () => {
    const lock = grantedLock();
    let finishListing: (() => void) | undefined;
    let watching = false;
    const election = runWhileLeading({
      tryLock: async () => lock,
      logger: createLogger("silent"),
      lead: async (term) => {
        // The controller's first list of Docker and the database, on the wire.
        await new Promise<void>((resolve) => {
          finishListing = resolve;
        });
        watching = true;
        term.defer(() => {
          watching = false;
        });
      },
    });
    await expect.poll(() => finishListing).toBeDefined();
    const stop = stopInBackground(election);
    await expect.poll(() => lock.released).toBe(true);
    // The store is closed after stop returns: the list still reading from it holds stop.
    await oneTurn();
    expect(stop.returned()).toBe(false);
    finishListing?.();
    await stop.done;
    expect(watching).toBe(false);
  });

  it("ends its pauses with the term, and its failure from what stop closed is no error", async () => {
    const lock = grantedLock();
    const lines: string[] = [];
    let paused = false;
    let pauseEnded: string | undefined;
    const election = runWhileLeading({
      tryLock: async () => lock,
      logger: createLogger("debug", { write: (line: string) => void lines.push(line) }),
      lead: async (term) => {
        paused = true;
        // A retry's pause far longer than stop's deadline.
        pauseEnded = await new Promise<string>((resolve) => {
          const timer = setTimeout(() => resolve("timer"), 600_000);
          term.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve("aborted");
          });
        });
        throw new Error("driver has already been destroyed");
      },
    });
    await expect.poll(() => paused).toBe(true);
    await election.stop(60_000);
    expect(pauseEnded).toBe("aborted");
    expect(lines.join("")).not.toMatch(/driver has already been destroyed|failed to start/);
    expect(lock.released).toBe(true);
  });
});

describe("what stop waits for besides the current lead", () => {
  function losableLock(epoch: number) {
    let lose: () => void = () => {};
    const lock = {
      ...grantedLock(),
      epoch,
      lost: new Promise<void>((resolve) => {
        lose = resolve;
      }),
    };
    lock.release = async () => {
      lock.released = true;
    };
    return { lock, lose: () => lose() };
  }

  it("waits for an undo registered after the term ended (an unlisten on the store)", async () => {
    const lock = grantedLock();
    let subscribed: (() => void) | undefined;
    let unlisten: (() => void) | undefined;
    const election = runWhileLeading({
      tryLock: async () => lock,
      logger: createLogger("silent"),
      lead: async (term) => {
        await new Promise<void>((resolve) => {
          subscribed = resolve;
        });
        term.defer(() => new Promise<void>((resolve) => (unlisten = resolve)));
      },
    });
    await expect.poll(() => subscribed).toBeDefined();
    const stop = stopInBackground(election);
    await expect.poll(() => lock.released).toBe(true);
    subscribed?.();
    await expect.poll(() => unlisten).toBeDefined();
    await oneTurn();
    expect(stop.returned()).toBe(false);
    unlisten?.();
    await stop.done;
  });

  it("waits for the lead of a term whose lock was lost, beside the next term's", async () => {
    const first = losableLock(1);
    const second = losableLock(2);
    const locks: LeaderLock[] = [first.lock, second.lock];
    const finish: Array<() => void> = [];
    const election = runWhileLeading({
      tryLock: async () => locks.shift(),
      logger: createLogger("silent"),
      lead: () => new Promise<void>((resolve) => finish.push(resolve)),
    });
    await expect.poll(() => finish.length).toBe(1);
    first.lose();
    await expect.poll(() => finish.length).toBe(2);
    const stop = stopInBackground(election);
    await expect.poll(() => second.lock.released).toBe(true);
    finish[1]?.();
    await oneTurn();
    expect(stop.returned()).toBe(false);
    finish[0]?.();
    await stop.done;
  });

  it("waits for the end of a term whose lock was lost, still stopping the controller", async () => {
    const { lock, lose } = losableLock(1);
    let deferred = false;
    let controllerStopped: (() => void) | undefined;
    const election = runWhileLeading({
      tryLock: async () => lock,
      logger: createLogger("silent"),
      lead: async (term) => {
        term.defer(() => new Promise<void>((resolve) => (controllerStopped = resolve)));
        deferred = true;
      },
    });
    await expect.poll(() => deferred).toBe(true);
    lose();
    await expect.poll(() => controllerStopped).toBeDefined();
    const stop = stopInBackground(election);
    await oneTurn();
    expect(stop.returned()).toBe(false);
    controllerStopped?.();
    await stop.done;
  });

  it("waits for a lock query on the wire, and its failure from what stop closed is no warning", async () => {
    const lines: string[] = [];
    let fail: ((error: Error) => void) | undefined;
    const election = runWhileLeading({
      tryLock: () =>
        new Promise<LeaderLock | undefined>((_, reject) => {
          fail = reject;
        }),
      logger: createLogger("debug", { write: (line: string) => void lines.push(line) }),
      lead: async () => {},
    });
    await expect.poll(() => fail).toBeDefined();
    const stop = stopInBackground(election);
    await oneTurn();
    expect(stop.returned()).toBe(false);
    fail?.(new Error("driver has already been destroyed"));
    await stop.done;
    expect(lines.join("")).not.toMatch(/leader election failed/);
  });
});
