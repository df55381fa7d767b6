import type { EngineWatch } from "../../docker/engine-watch.ts";
import type { KeySink, StopSource } from "./key-sink.ts";

/** The engine is back after an outage: what it did meanwhile is unknown, so resync. */
export function watchEngineUp(engine: EngineWatch, sink: KeySink): StopSource {
  const onUp = () => sink.requestResync();
  engine.on("up", onUp);
  return () => {
    engine.off("up", onUp);
  };
}
