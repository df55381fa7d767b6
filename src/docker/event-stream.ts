import type { Logger } from "../logger.ts";
import type { DockerClient } from "./connection.ts";
import type { EngineWatch } from "./engine-watch.ts";

export type ContainerEvent = {
  readonly action: string;
  readonly containerId: string;
  readonly labels: Readonly<Record<string, string>>;
};

export type EventStreamHandlers = {
  readonly onEvent: (event: ContainerEvent) => void;
  /** Called after every (re)connection: events may have been missed, so resync. */
  readonly onConnected: () => void;
};

/**
 * Follows the engine's container events for one managed-by label, reconnecting with back-off
 * (1 s doubling to 30 s) whenever the stream ends, and at once when the engine watch says the
 * engine is back. Returns a function that stops it.
 */
export function watchContainerEvents(
  docker: DockerClient,
  orchestratorId: string,
  handlers: EventStreamHandlers,
  logger: Logger,
  engine?: EngineWatch,
): () => void {
  let stopped = false;
  let current: NodeJS.ReadableStream | undefined;
  let retryDelayMs = 1_000;
  let timer: NodeJS.Timeout | undefined;
  // One connection attempt at a time: an "up" from the engine watch while the first request is
  // still on its way would open a second stream, which nobody destroys (twice the events, and
  // a process that stopped would never exit: the stream keeps the engine's socket open).
  let connecting = false;

  const scheduleReconnect = () => {
    if (stopped) return;
    timer = setTimeout(connect, retryDelayMs);
    timer.unref();
    retryDelayMs = Math.min(retryDelayMs * 2, 30_000);
  };

  const connect = async () => {
    if (stopped || connecting) return;
    connecting = true;
    try {
      const stream = (await docker.getEvents({
        filters: { type: ["container"], label: [`managed-by=${orchestratorId}`] },
      })) as NodeJS.ReadableStream;
      if (stopped) {
        (stream as unknown as { destroy(): void }).destroy();
        return;
      }
      current = stream;
      retryDelayMs = 1_000;
      logger.debug("docker event stream connected");
      handlers.onConnected();
      let buffered = "";
      stream.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf("\n");
          if (line.length === 0) continue;
          try {
            const event = JSON.parse(line) as {
              Action?: string;
              Actor?: { ID?: string; Attributes?: Record<string, string> };
            };
            handlers.onEvent({
              action: event.Action ?? "",
              containerId: event.Actor?.ID ?? "",
              labels: event.Actor?.Attributes ?? {},
            });
          } catch {
            logger.warn("unparseable docker event skipped");
          }
        }
      });
      const ended = () => {
        if (current !== stream) return;
        current = undefined;
        if (!stopped) {
          logger.warn("docker event stream ended; reconnecting");
          scheduleReconnect();
        }
      };
      stream.on("end", ended);
      stream.on("close", ended);
      stream.on("error", ended);
    } catch (error) {
      logger.debug({ err: error }, "docker event stream connect failed");
      scheduleReconnect();
    } finally {
      connecting = false;
    }
  };

  // The engine is back: reconnect now rather than when the back-off (up to 30 s) says.
  const onEngineUp = () => {
    if (stopped || current !== undefined || connecting) return;
    if (timer !== undefined) clearTimeout(timer);
    retryDelayMs = 1_000;
    void connect();
  };
  engine?.on("up", onEngineUp);

  void connect();
  return () => {
    stopped = true;
    engine?.off("up", onEngineUp);
    if (timer !== undefined) clearTimeout(timer);
    const stream = current as unknown as { destroy?: () => void } | undefined;
    current = undefined;
    stream?.destroy?.();
  };
}
