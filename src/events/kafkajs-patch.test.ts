import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

/**
 * kafkajs 2.2.4 re-arms a 1 ms timer for ever on every broker connection once the first answer
 * arrives: with nothing pending and no throttle, `scheduleCheckPendingRequests` sets a timer for
 * `-1 - Date.now()` ms (Node runs it after 1 ms, and Node 24 warns TimeoutNegativeWarning),
 * whose check schedules the next one (upstream kafkajs#1704, #1751; unreleased). An idle
 * service burned ~550 timers and ~23 ms of CPU a second per connection on its one thread.
 * patches/kafkajs+2.2.4.patch arms no timer when there is nothing to check; `npm ci` applies it
 * (postinstall: patch-package). The queue is kafkajs's own, driven with its own logger.
 */
const require = createRequire(import.meta.url);
const root = path.dirname(require.resolve("kafkajs/package.json"));
const RequestQueue = require(path.join(root, "src/network/requestQueue/index.js"));
const { createLogger, LEVELS } = require(path.join(root, "src/loggers/index.js"));

function newQueue() {
  const logger = createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} });
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 10_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "127.0.0.1:9092",
    logger,
  });
}

describe("the kafkajs request queue", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is the version the patch was written for", () => {
    expect(JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version).toBe("2.2.4");
  });

  it("arms no timer when nothing is pending and nothing throttles (an idle connection)", () => {
    const queue = newQueue();
    // What every answer from the broker ends with (fulfillRequest).
    queue.checkPendingRequests();
    expect(vi.getTimerCount()).toBe(0);
    queue.destroy();
  });

  it("sends a request held by a throttle once the throttle ends, then arms nothing", () => {
    const queue = newQueue();
    const sent: number[] = [];
    const answered: unknown[] = [];
    queue.maybeThrottle(200);
    queue.push({
      entry: {
        correlationId: 7,
        apiKey: 0,
        apiName: "Produce",
        apiVersion: 3,
        resolve: (answer: unknown) => answered.push(answer),
        reject: (error: unknown) => answered.push(error),
      },
      expectResponse: false,
      sendRequest: () => sent.push(7),
    });
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(250);
    expect(sent).toEqual([7]);
    expect(answered).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    queue.destroy();
  });
});
