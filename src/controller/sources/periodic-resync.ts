import type { KeySink, StopSource } from "./key-sink.ts";

/** A full resync every interval, ±10% so that controllers started together drift apart. */
export function resyncPeriodically(
  sink: KeySink,
  intervalMs: number,
  random: () => number = Math.random,
): StopSource {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        sink.requestResync();
        schedule();
      },
      intervalMs * (1 + (random() * 0.2 - 0.1)),
    );
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}
