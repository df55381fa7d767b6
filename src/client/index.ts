/** `orchestrator/client`: the typed client of the Orchestrator API. */
export { type LegacyCode, legacyCodes, OrchestratorError, type ProblemCode } from "./errors.ts";
export type { EventStreamOptions } from "./event-stream.ts";
export type { BuildLogMessage } from "./log-streams.ts";
export {
  type EventHandler,
  type EventName,
  type ImageSpec,
  isReady,
  type MetricsHandler,
  Orchestrator,
  type WaitCondition,
  type WaitOptions,
} from "./orchestrator.ts";
export type { ClientOptions, RequestOptions } from "./transport.ts";
export type * from "./types.ts";
