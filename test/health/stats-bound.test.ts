/**
 * A stats request the engine never answers (Docker 20.10 can leave the one-shot stats of a
 * container removed meanwhile unanswered) must not hold the health monitor, its connection, or
 * a process that has stopped: it is given up after its bound, or at once when the monitor stops.
 * The silent engine is a proxy that swallows every byte, in front of the real one.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectDocker } from "../../src/docker/connection.ts";
import { createContainerStats } from "../../src/docker/container-stats.ts";
import { dockerSocketPath } from "../support/service-control.ts";
import { hasDocker } from "../support/services.ts";
import { type SocketProxy, startSocketProxy } from "../support/socket-proxy.ts";
import { waitFor } from "../support/wait.ts";

describe.runIf(hasDocker())("a stats request the engine does not answer", () => {
  let proxy: SocketProxy;
  beforeEach(async () => {
    proxy = await startSocketProxy({ path: dockerSocketPath() });
  });
  afterEach(async () => {
    await proxy.close();
  });

  it("is given up after its bound, and its connection closed", async () => {
    const stats = createContainerStats(connectDocker(proxy.address), { timeoutMs: 300 });
    proxy.blackhole();
    await expect(stats.sample("any-container")).rejects.toThrow();
    await waitFor(
      async () => proxy.liveConnections,
      (live) => live === 0,
      {
        what: "the stats connection closed",
      },
    );
  });

  it("is given up when its signal aborts, long before its bound", async () => {
    const stats = createContainerStats(connectDocker(proxy.address), { timeoutMs: 600_000 });
    proxy.blackhole();
    const stopping = new AbortController();
    const sample = stats.sample("any-container", stopping.signal);
    await waitFor(
      async () => proxy.liveConnections,
      (live) => live > 0,
      {
        what: "the stats request sent",
      },
    );
    stopping.abort();
    await expect(sample).rejects.toThrow();
    await waitFor(
      async () => proxy.liveConnections,
      (live) => live === 0,
      {
        what: "the stats connection closed",
      },
    );
  });
});
