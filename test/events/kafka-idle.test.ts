import { describe, expect, it } from "vitest";
import { createKafkaSink } from "../../src/events/kafka-sink.ts";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { hasKafkaMock } from "../support/services.ts";
import { testLogger, uniqueTopic } from "./relay-support.ts";

/**
 * kafkajs 2.2.4 rescheduled its request queue's pending check with a negative delay after every
 * check, even with nothing pending: a 1 ms timer loop for the life of every broker connection
 * (kafkajs#1704), and Node 24's TimeoutNegativeWarning (#1751). patches/kafkajs+2.2.4.patch
 * schedules nothing when nothing waits; an idle relay must not wake a thousand times a second.
 */
describe.runIf(hasKafkaMock())("an idle Kafka connection", () => {
  const broker = useKafkaBroker();

  it("schedules no timer loop and warns of no negative timeout", async () => {
    const sink = createKafkaSink({
      brokers: broker().brokers,
      topic: uniqueTopic(),
      clientId: "idle-test",
      logger: testLogger,
      requestTimeoutMs: 2_000,
      connectionTimeoutMs: 500,
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    const realSetTimeout = globalThis.setTimeout;
    let queueTimers = 0;
    try {
      await sink.publish([{ key: "1", value: "warm-up", headers: {} }]);
      globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
        if (/requestQueue/.test(new Error().stack ?? "")) queueTimers += 1;
        return realSetTimeout(...args);
      }) as typeof setTimeout;
      await new Promise((resolve) => realSetTimeout(resolve, 1_000));
    } finally {
      globalThis.setTimeout = realSetTimeout;
      process.off("warning", onWarning);
      await sink.disconnect();
    }
    // A request now and then may schedule one; the unpatched loop schedules hundreds a second.
    expect(queueTimers).toBeLessThan(10);
    expect(warnings).not.toContain("TimeoutNegativeWarning");
  });
});
