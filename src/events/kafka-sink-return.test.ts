import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.ts";
import type { PublishError } from "./event-sink.ts";
import { createKafkaSink } from "./kafka-sink.ts";

const connectionFailures = ["KafkaJSConnectionError", "KafkaJSConnectionClosedError"];

/**
 * The Kafka sink's `brokerReturns` against what sits in front of a broker that is down: a port
 * that accepts every connection and closes it at once (a load balancer with no broker behind
 * it). A probe's connection then says nothing; the relay's back-off must not become one
 * publish a probe interval.
 */
describe("the Kafka sink's word that the broker is back", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) =>
      server === undefined ? resolve(undefined) : server.close(resolve),
    );
    server = undefined;
  });

  it("is believed once after a publish that could not connect, not again after a probe misled it", async () => {
    let connections = 0;
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const sink = createKafkaSink({
      brokers: [`127.0.0.1:${port}`],
      topic: "events",
      clientId: "sink-return-test",
      logger: createLogger("silent"),
      connectionTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
      returnProbeIntervalMs: 10,
    });
    const message = { key: "k", value: "v", headers: {} };
    /** Whether `brokerReturns` resolved before the port saw ten more probes. */
    const returnsWithinTenProbes = async () => {
      const controller = new AbortController();
      let returned = false;
      void sink.brokerReturns?.(controller.signal).then(() => {
        returned = true;
      });
      const before = connections;
      while (connections < before + 10 && !returned) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      controller.abort();
      return returned;
    };
    try {
      const first = await sink.publish([message]).catch((error: PublishError) => error);
      expect(connectionFailures).toContain((first as PublishError).code);
      // The publish could not connect: the first probe that connects counts as the return.
      expect(await returnsWithinTenProbes()).toBe(true);
      // Said once: without a publish since, a probe that connects says nothing new.
      expect(await returnsWithinTenProbes()).toBe(false);

      const second = await sink.publish([message]).catch((error: PublishError) => error);
      expect(connectionFailures).toContain((second as PublishError).code);
      // The probe said "back" and it was not: from now on only a refused probe would count.
      expect(await returnsWithinTenProbes()).toBe(false);
    } finally {
      await sink.disconnect();
    }
  });
});
