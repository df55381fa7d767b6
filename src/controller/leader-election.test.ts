import { describe, expect, it } from "vitest";
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
});
