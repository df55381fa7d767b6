import type { NodeFacts } from "../domain/placement.ts";
import type { DockerClient } from "./connection.ts";
import { withDockerRetry } from "./retry.ts";

/** `["zone=a", "disk"]` (the engine's `--label`s) as a record; a bare key has the empty value. */
function engineLabels(labels: readonly string[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const label of labels ?? []) {
    const equals = label.indexOf("=");
    if (equals < 0) record[label] = "";
    else record[label.slice(0, equals)] = label.slice(equals + 1);
  }
  return record;
}

/**
 * What the engine the controller drives is, as Swarm's placement constraints see a node: its
 * hostname, platform and engine labels from `docker info`; its node id and role when it is in a
 * swarm (none and "" otherwise); its node labels when it is a manager (only managers read nodes).
 */
export function createNodeFacts(docker: DockerClient): () => Promise<NodeFacts> {
  return async () => {
    const info = await withDockerRetry(() => docker.info());
    const swarm = info.Swarm as
      | { NodeID?: string; LocalNodeState?: string; ControlAvailable?: boolean }
      | undefined;
    const active = swarm?.LocalNodeState === "active";
    const manager = active && swarm?.ControlAvailable === true;
    let nodeLabels: Record<string, string> = {};
    if (manager && swarm?.NodeID) {
      const node = await withDockerRetry(() => docker.getNode(swarm.NodeID as string).inspect());
      nodeLabels = {
        ...((node as { Spec?: { Labels?: Record<string, string> } }).Spec?.Labels ?? {}),
      };
    }
    return {
      id: active ? (swarm?.NodeID ?? "") : "",
      hostname: String(info.Name ?? ""),
      role: manager ? "manager" : active ? "worker" : "",
      os: String(info.OSType ?? ""),
      arch: String(info.Architecture ?? ""),
      nodeLabels,
      engineLabels: engineLabels(info.Labels as string[] | undefined),
    };
  };
}
