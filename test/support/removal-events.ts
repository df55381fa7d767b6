/** An event as `GET /api/events` lists it (the fields these checks read). */
type ListedEvent = {
  readonly seq: number;
  readonly type: string;
  readonly data: { readonly instance_id?: string; readonly reason?: string | null };
};

/**
 * An instance's container events from its first `container.draining` on, as `type:reason`, in
 * the log's order. A removal announced exactly once before its stop reads
 * `["container.draining:R", "container.stopped:R", "container.removed:R"]`; a second
 * announcement, a stop before the announcement or none at all reads otherwise.
 */
export function removalTail(events: readonly ListedEvent[], instanceId: string): string[] {
  const own = events
    .filter((event) => event.type.startsWith("container.") && event.data.instance_id === instanceId)
    .sort((left, right) => left.seq - right.seq);
  const announced = own.findIndex((event) => event.type === "container.draining");
  if (announced === -1) return own.slice(-2).map((event) => `${event.type}:${event.data.reason}`);
  return own.slice(announced).map((event) => `${event.type}:${event.data.reason}`);
}

/** The tail `removalTail` reads for a removal with `reason`. */
export const announcedRemoval = (reason: string) => [
  `container.draining:${reason}`,
  `container.stopped:${reason}`,
  `container.removed:${reason}`,
];
