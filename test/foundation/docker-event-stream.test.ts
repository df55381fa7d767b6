/**
 * The controller's stream of Docker events: one stream at a time, whatever the engine watch
 * says meanwhile, and none left open once stopped (an open stream keeps the engine's socket,
 * and so a stopped process, alive). Counted at a proxy in front of the real engine.
 */
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectDocker } from "../../src/docker/connection.ts";
import type { EngineWatch } from "../../src/docker/engine-watch.ts";
import { watchContainerEvents } from "../../src/docker/event-stream.ts";
import { createLogger } from "../../src/logger.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { dockerSocketPath } from "../support/service-control.ts";
import { hasDocker } from "../support/services.ts";
import { type SocketProxy, startSocketProxy } from "../support/socket-proxy.ts";
import { waitFor } from "../support/wait.ts";

describe.runIf(hasDocker())("the Docker event stream", () => {
  let proxy: SocketProxy;
  beforeEach(async () => {
    proxy = await startSocketProxy({ path: dockerSocketPath() });
  });
  afterEach(async () => {
    await proxy.close();
  });

  it("opens one stream when the engine is said to be up while it connects, and closes it at stop", async () => {
    const engine = new EventEmitter() as unknown as EngineWatch;
    let connections = 0;
    const stop = watchContainerEvents(
      connectDocker(proxy.address),
      testOrchestratorId("events"),
      { onEvent: () => {}, onConnected: () => (connections += 1) },
      createLogger("silent"),
      engine,
    );
    // The first request is on its way (nothing has answered yet): the watch says "up".
    engine.emit("up");
    engine.emit("up");
    await waitFor(
      async () => connections,
      (count) => count >= 1,
      { what: "connected" },
    );
    // Each request to the engine is a connection at the proxy: only the stream's stays open.
    await waitFor(
      async () => proxy.liveConnections,
      (live) => live <= 2,
      {
        what: "the requests settled",
      },
    );
    expect(connections).toBe(1);
    expect(proxy.liveConnections).toBe(2); // the proxy counts both ends of the one stream
    stop();
    await waitFor(
      async () => proxy.liveConnections,
      (live) => live === 0,
      {
        what: "the stream closed",
      },
    );
  });
});
