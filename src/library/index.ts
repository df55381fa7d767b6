/**
 * `orchestrator`: the engine in your process (`createOrchestrator`), and the client of a
 * running server (`Orchestrator`, also at `orchestrator/client`).
 */
export * from "../client/index.ts";
export {
  type CreateOrchestratorOptions,
  createOrchestrator,
  EmbeddedOrchestrator,
} from "./create-orchestrator.ts";
