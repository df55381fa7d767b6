import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { anyBrokerAccepts, brokerAddress, brokerReturns } from "./broker-probe.ts";

describe("a broker's address", () => {
  it("reads host:port, an IPv6 host in brackets, and refuses what is not one", () => {
    expect(brokerAddress("kafka-1.internal:9092")).toEqual({
      host: "kafka-1.internal",
      port: 9092,
    });
    expect(brokerAddress("[::1]:19092")).toEqual({ host: "::1", port: 19092 });
    for (const bad of ["kafka", ":9092", "kafka:", "kafka:0", "kafka:65536", "kafka:9o92"]) {
      expect(brokerAddress(bad), bad).toBeUndefined();
    }
  });
});

describe("whether a broker accepts connections", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function listening(): Promise<number> {
    const server = createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as { port: number }).port;
  }

  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  it("is true when any broker of the list accepts, false when none does", async () => {
    const open = await listening();
    const closed = await closedPort();
    expect(await anyBrokerAccepts([`127.0.0.1:${closed}`, `127.0.0.1:${open}`], 2_000)).toBe(true);
    expect(await anyBrokerAccepts([`127.0.0.1:${closed}`], 2_000)).toBe(false);
    expect(await anyBrokerAccepts(["not an address"], 2_000)).toBe(false);
  });
});

describe("a broker's return", () => {
  /** A probe answering `answers` in turn (the last one from then on), counting its calls. */
  function scripted(answers: readonly (boolean | Error)[]) {
    let calls = 0;
    return {
      calls: () => calls,
      probe: async () => {
        const answer = answers[Math.min(calls, answers.length - 1)];
        calls += 1;
        if (answer instanceof Error) throw answer;
        return answer as boolean;
      },
    };
  }

  async function probesMade(probe: { calls: () => number }, count: number): Promise<void> {
    while (probe.calls() < count) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  it("resolves when the broker accepts after having refused (a failed probe counts as refused)", async () => {
    const probe = scripted([false, new Error("EHOSTUNREACH"), true]);
    const controller = new AbortController();
    await brokerReturns(probe.probe, controller.signal, 1, false);
    expect(probe.calls()).toBe(3);
  });

  it("resolves at the first probe that connects when the last publish could not connect", async () => {
    const probe = scripted([true]);
    await brokerReturns(probe.probe, new AbortController().signal, 1, true);
    expect(probe.calls()).toBe(1);
  });

  it("does not resolve for a broker reachable all along, and stops probing once aborted", async () => {
    const probe = scripted([true]);
    const controller = new AbortController();
    let returned = false;
    void brokerReturns(probe.probe, controller.signal, 1, false).then(() => {
      returned = true;
    });
    await probesMade(probe, 20);
    expect(returned).toBe(false);

    controller.abort();
    const after = probe.calls();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(probe.calls()).toBeLessThanOrEqual(after + 1);
    expect(returned).toBe(false);
  });
});
