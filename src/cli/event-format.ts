import type { OrchestratorEvent } from "../client/index.ts";
import { formatTable } from "./table.ts";
import { paint, type Terminal } from "./terminal.ts";

/** What an event is about: the container's name, else the image's. Pure. */
export function eventObject(event: OrchestratorEvent): string {
  const data = event.data as { name?: unknown };
  const name = typeof data.name === "string" ? data.name : event.subject;
  return event.instance_id === null ? `image/${name}` : `container/${name}`;
}

/** The event's reason and message, as one short text. Pure. */
export function eventDetail(event: OrchestratorEvent): string {
  const data = event.data as { reason?: unknown; message?: unknown; desired_instances?: unknown };
  const parts: string[] = [];
  if (typeof data.reason === "string") parts.push(data.reason);
  if (event.type === "image.scaled" && typeof data.desired_instances === "number") {
    parts.push(`desired ${data.desired_instances}`);
  }
  if (typeof data.message === "string" && data.message !== "") parts.push(data.message);
  return parts.join(": ");
}

const warnings = new Set(["container.failed", "container.unhealthy", "image.build_failed"]);

/** One watched event as a line: time, type (warnings in red on a terminal), object, detail. Pure. */
export function eventLine(terminal: Terminal, event: OrchestratorEvent): string {
  const type = warnings.has(event.type)
    ? paint(terminal, "red", event.type)
    : paint(terminal, "dim", event.type);
  return [event.time, type, eventObject(event), eventDetail(event)]
    .filter((part) => part !== "")
    .join("  ");
}

/** Events as a table (kubectl get events): TIME, TYPE, OBJECT, DETAIL. Pure. */
export function eventTable(events: readonly OrchestratorEvent[]): string[] {
  return formatTable(
    ["TIME", "TYPE", "OBJECT", "DETAIL"],
    events.map((event) => [event.time, event.type, eventObject(event), eventDetail(event)]),
  );
}
