import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { brokerAddress, createBrokerProbe, probeUntilBack } from "./broker-probe.ts";

describe("a broker's address", () => {
  it("reads host:port and refuses what is not one", () => {
    expect(brokerAddress("kafka-1.internal:9092")).toEqual({
      host: "kafka-1.internal",
      port: 9092,
    });
    for (const bad of ["kafka", ":9092", "kafka:", "kafka:0", "kafka:65536", "kafka:9o92"]) {
      expect(brokerAddress(bad), bad).toBeUndefined();
    }
  });
});

describe("a probe of the brokers", () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A port that accepts, and counts the connections still open on it. */
  async function listening(): Promise<{ port: number; open: () => Promise<number> }> {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      port: (server.address() as { port: number }).port,
      open: () =>
        new Promise((resolve, reject) =>
          server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
        ),
    };
  }

  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  it("is true when any broker of the list accepts (by name too), false when none does", async () => {
    const open = await listening();
    const closed = await closedPort();
    const signal = new AbortController().signal;
    expect(
      await createBrokerProbe([`127.0.0.1:${closed}`, `localhost:${open.port}`], 2_000)(signal),
    ).toBe(true);
    expect(await createBrokerProbe([`127.0.0.1:${closed}`], 2_000)(signal)).toBe(false);
    expect(await createBrokerProbe(["not an address"], 2_000)(signal)).toBe(false);
    expect(await createBrokerProbe(["no-such-host.invalid:9092"], 2_000)(signal)).toBe(false);
    // The connection it made is closed once it has answered.
    await vi.waitFor(async () => expect(await open.open()).toBe(0));
  });

  it("answers false at once, with no connection left, when aborted", async () => {
    const open = await listening();
    const controller = new AbortController();
    controller.abort();
    expect(await createBrokerProbe([`127.0.0.1:${open.port}`], 2_000)(controller.signal)).toBe(
      false,
    );
    expect(await open.open()).toBe(0);
  });
});

describe("waiting for a broker's return", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

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

  it("resolves when the broker accepts after having refused (a failed probe counts as refused)", async () => {
    const probe = scripted([false, new Error("EHOSTUNREACH"), true]);
    await probeUntilBack(probe.probe, new AbortController().signal, 1, false);
    expect(probe.calls()).toBe(3);
  });

  it("resolves at the first probe that connects when the last publish could not connect", async () => {
    const probe = scripted([true]);
    await probeUntilBack(probe.probe, new AbortController().signal, 1, true);
    expect(probe.calls()).toBe(1);
  });

  it("does not resolve for a broker reachable all along, and leaves no timer once aborted", async () => {
    vi.useFakeTimers();
    const probe = scripted([true]);
    const controller = new AbortController();
    let returned = false;
    void probeUntilBack(probe.probe, controller.signal, 1_000, false).then(() => {
      returned = true;
    });
    // Nothing before the first interval: never two attempts within one.
    await vi.advanceTimersByTimeAsync(999);
    expect(probe.calls()).toBe(0);
    await vi.advanceTimersByTimeAsync(20_001);
    expect(probe.calls()).toBe(21);
    expect(returned).toBe(false);

    controller.abort();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(probe.calls()).toBe(21);
    expect(returned).toBe(false);
  });
});
