import { describe, expect, it } from "vitest";
import { createWaitingRoom } from "./waiting-room.ts";

describe("the waiting room", () => {
  it("looks at the table once per change for a hostname, not once per waiting request", async () => {
    const ready = new Set<string>();
    const looked: string[] = [];
    const woken: string[] = [];
    const room = createWaitingRoom({
      isReady: (hostname) => {
        looked.push(hostname);
        return ready.has(hostname);
      },
      wake: (hostname) => woken.push(hostname),
      wakeEveryMs: 60_000,
    });
    const never = new AbortController().signal;
    const deadline = Date.now() + 60_000;
    const waits = Array.from({ length: 100 }, () => room.wait("shop.test", deadline, never));
    const other = room.wait("other.test", deadline, never);
    expect(room.size()).toBe(101);
    expect(woken).toEqual(["shop.test", "other.test"]);
    looked.length = 0;
    room.changed();
    expect(looked.sort()).toEqual(["other.test", "shop.test"]);
    ready.add("shop.test");
    room.changed();
    expect(await Promise.all(waits)).toEqual(Array(100).fill(true));
    expect(room.size()).toBe(1);
    room.close();
    expect(await other).toBe(false);
    expect(room.size()).toBe(0);
  });

  it("lets a request go at its deadline or when its client leaves", async () => {
    const room = createWaitingRoom({ isReady: () => false, wake: () => {}, wakeEveryMs: 60_000 });
    const leaving = new AbortController();
    const left = room.wait("shop.test", Date.now() + 60_000, leaving.signal);
    const timedOut = room.wait("shop.test", Date.now() + 50, new AbortController().signal);
    leaving.abort();
    expect(await left).toBe(false);
    expect(await timedOut).toBe(false);
    expect(room.size()).toBe(0);
  });
});
