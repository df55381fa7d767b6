import { withOptionDefaults } from "../../domain/container-options.ts";
import { type NodeFacts, unmetConstraints } from "../../domain/placement.ts";
import type { ImageRecord } from "./model.ts";
import type { Runnability } from "./status.ts";

/** Whether the image's placement asks anything of the node (a spread alone asks nothing). */
export function hasConstraints(image: ImageRecord): boolean {
  return withOptionDefaults(image.container_options).placement.constraints.length > 0;
}

/**
 * RUNTIME=docker: the one engine is the only node. A runnable image whose constraints that
 * engine does not meet is not runnable here (`Unschedulable`, Degraded): no container is
 * created for it (the ones it has keep running, as Swarm keeps a service's tasks while an
 * update's new ones find no node). `spread` has one node to spread over: nothing to do. Pure.
 */
export function checkPlacement(
  image: ImageRecord,
  runnability: Runnability,
  facts: NodeFacts | undefined,
): Runnability {
  if (!runnability.ok || !hasConstraints(image)) return runnability;
  const { constraints } = withOptionDefaults(image.container_options).placement;
  const unmet = facts === undefined ? constraints : unmetConstraints(constraints, facts);
  if (unmet.length === 0) return runnability;
  return {
    ok: false,
    reason: "Unschedulable",
    message: `placement: ${unmet.join(", ")} ${unmet.length === 1 ? "is" : "are"} not met by this engine${
      facts === undefined ? " (its attributes are unknown)" : ` (${facts.hostname})`
    }`,
    degraded: true,
  };
}
