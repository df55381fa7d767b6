import { afterEach, describe, expect, it, vi } from "vitest";
import { createWorkQueue } from "./workqueue.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("workqueue", () => {
  it("collapses duplicate keys while they wait", async () => {
    const queue = createWorkQueue<number>();
    queue.add(1);
    queue.add(2);
    queue.add(1);
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe(1);
    expect(await queue.get()).toBe(2);
  });

  it("never hands one key to two workers, and reruns a key dirtied while processing", async () => {
    const queue = createWorkQueue<number>();
    queue.add(1);
    const first = await queue.get();
    queue.add(1); // dirtied while processing
    expect(queue.length).toBe(0);
    let second: number | undefined;
    void queue.get().then((key) => {
      second = key;
    });
    await Promise.resolve();
    expect(second).toBeUndefined();
    queue.done(first as number);
    await Promise.resolve();
    expect(second).toBe(1);
  });

  it("backs a failing key off exponentially with jitter, capped at 5 minutes", () => {
    vi.useFakeTimers();
    const delays = (random: number, failures: number) => {
      const queue = createWorkQueue<string>({ random: () => random });
      return Array.from({ length: failures }, () => queue.addRateLimited("a"));
    };
    expect(delays(0.5, 4)).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(delays(0.5, 30).at(-1)).toBe(300_000);
    expect(delays(1, 1)).toEqual([1_100]);
    expect(delays(0, 1)).toEqual([900]);
  });

  it("requeues rate-limited keys after their delay and forgets on success", async () => {
    vi.useFakeTimers();
    const queue = createWorkQueue<string>({ random: () => 0.5 });
    expect(queue.addRateLimited("a")).toBe(1_000);
    expect(queue.addRateLimited("a")).toBe(2_000);
    expect(queue.length).toBe(0);
    vi.advanceTimersByTime(999);
    expect(queue.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(queue.length).toBe(1);
    queue.forget("a");
    expect(queue.failures("a")).toBe(0);
  });

  it("keeps the earliest of two delayed adds", () => {
    vi.useFakeTimers();
    const queue = createWorkQueue<string>();
    queue.addAfter("a", 10_000);
    queue.addAfter("a", 1_000);
    vi.advanceTimersByTime(1_000);
    expect(queue.length).toBe(1);
  });

  it("releases waiting workers on shut down", async () => {
    const queue = createWorkQueue<number>();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    queue.add(1);
    expect(queue.length).toBe(0);
  });

  it("reports the age of the oldest waiting key", () => {
    let clock = 1_000;
    const queue = createWorkQueue<number>({ now: () => clock });
    queue.add(1);
    clock = 1_500;
    queue.add(2);
    clock = 2_000;
    expect(queue.oldestAgeMs()).toBe(1_000);
  });

  it("spaces a key's spaced adds: at once when quiet, then once per interval, none lost", async () => {
    vi.useFakeTimers();
    const queue = createWorkQueue<number>({ now: () => Date.now() });
    // Quiet: at once.
    queue.addSpaced(1, 1_000);
    expect(queue.length).toBe(1);
    const taken = await queue.get();
    // Asked again and again during its pass and after it: one more run, at the interval's end.
    vi.advanceTimersByTime(10);
    queue.addSpaced(1, 1_000);
    queue.done(taken as number);
    for (let step = 0; step < 9; step++) {
      vi.advanceTimersByTime(100);
      queue.addSpaced(1, 1_000);
    }
    expect(queue.length).toBe(0);
    vi.advanceTimersByTime(89);
    expect(queue.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(queue.length).toBe(1);
    await queue.get();
    queue.done(1);
    // Other keys and plain adds are not held back.
    queue.addSpaced(2, 1_000);
    queue.add(1);
    expect(queue.length).toBe(2);
  });

  it("forgets a key's take once it is older than any spacing asked: deleted images do not pile up", async () => {
    let clock = 0;
    const queue = createWorkQueue<number>({ now: () => clock });
    queue.addSpaced(1, 1_000);
    queue.done((await queue.get()) as number);
    // Images made, passed over once, and deleted: none is asked for again.
    for (let key = 2; key <= 1_000; key++) {
      clock += 10;
      queue.add(key);
      queue.done((await queue.get()) as number);
    }
    clock += 1_000;
    queue.add(5_000);
    queue.done((await queue.get()) as number);
    expect(queue.rememberedTakes).toBe(1);
    // A take within the interval still spaces the key's next spaced add.
    queue.addSpaced(5_000, 1_000);
    expect(queue.length).toBe(0);
    queue.shutDown();
  });
});
