/** The event types of the public contract, and the data a container event carries. */
export const eventTypes = [
  "container.created",
  "container.started",
  "container.stopped",
  "container.removed",
  "container.failed",
  "container.unhealthy",
  "container.healthy",
  "container.draining",
  "image.building",
  "image.ready",
  "image.build_failed",
  "image.deleted",
  "image.scaled",
  "image.rollout_started",
  "image.rollout_completed",
  "image.rollout_failed",
  "image.rolled_back",
  "pool.claimed",
  "pool.released",
  "pool.expired",
] as const;

export type EventType = (typeof eventTypes)[number];

/**
 * What discovery and billing need from one message: where it answers (host, host_port), who
 * pays (user_id, limits), and how long it ran (started_at, stopped_at).
 */
export type ContainerEventData = {
  readonly container_id: string | null;
  readonly name: string;
  readonly instance_id: string;
  readonly image_id: number;
  readonly image: string;
  readonly user_id: string;
  readonly app_hostname: string | null;
  readonly host: string;
  readonly host_port: number | null;
  readonly container_port: number;
  /** Every published port (the primary one too): where each answers on `host`. */
  readonly ports?: readonly PublishedPort[];
  readonly cpu_limit: string;
  readonly memory_limit: string;
  readonly started_at: string | null;
  readonly stopped_at: string | null;
  readonly reason: string;
  readonly exit_code?: number | null;
  readonly error?: string | null;
  /** The Swarm node the task runs on (RUNTIME=swarm only). */
  readonly node?: string;
};

export type PublishedPort = {
  readonly container_port: number;
  readonly protocol: string;
  readonly host_port: number;
};

/** "8080/tcp" → 32768, as instances record them, as a list. */
export function publishedPorts(hostPorts: Readonly<Record<string, number>>): PublishedPort[] {
  return Object.entries(hostPorts)
    .map(([key, hostPort]) => {
      const [port = "0", protocol = "tcp"] = key.split("/");
      return { container_port: Number(port), protocol, host_port: hostPort };
    })
    .sort(
      (left, right) =>
        left.container_port - right.container_port || left.protocol.localeCompare(right.protocol),
    );
}

export type ImageEventData = {
  readonly image_id: number;
  readonly name: string;
  readonly image: string | null;
  readonly user_id: string;
  readonly app_hostname: string | null;
  readonly status: string;
  readonly reason: string;
  readonly desired_instances?: number;
  readonly previous_desired_instances?: number;
  /** `image.scaled` by the autoscaler: the metric, its value per instance, the target, the move. */
  readonly metric?: string;
  readonly value?: number | null;
  readonly target?: number;
  readonly from?: number;
  readonly to?: number;
  readonly message?: string;
  /** `image.ready` of a build pushed to REGISTRY_URL: what other engines pull to run it. */
  readonly registry_reference?: string;
  /** `image.rollout_*` and `image.rolled_back`: the revision rolled from (null: none) and to. */
  readonly from_revision?: number | null;
  readonly to_revision?: number;
  /** `image.rolled_back`: the earlier revision whose spec the new one runs again. */
  readonly restored_revision?: number;
};

/** A claim of a pooled instance taken, released, or expired (key = the claimant's project). */
export type PoolEventData = {
  readonly claim_id: string;
  readonly key: string;
  readonly instance_id: string;
  readonly container_id: string | null;
  readonly name: string;
  readonly image_id: number;
  readonly image: string;
  readonly user_id: string;
  readonly host: string;
  readonly host_port: number | null;
  readonly container_port: number;
  readonly claimed_at: string | null;
  readonly expires_at: string | null;
  readonly reason: string;
};

/** A transition of one container, as the controller or the prober saw it. */
export type ContainerTransition = {
  readonly type: Extract<EventType, `container.${string}`>;
  readonly reason: string;
  readonly exitCode?: number | null;
  readonly error?: string | null;
};

/** An event about to be written: the row is completed (id, time) by the repository. */
export type NewEvent = {
  readonly type: EventType;
  readonly imageId: number;
  readonly userId: number;
  readonly instanceId?: string | null;
  readonly data: ContainerEventData | ImageEventData | PoolEventData;
};

export function eventSubject(event: NewEvent): string {
  return event.instanceId ? `containers/${event.instanceId}` : `images/${event.imageId}`;
}
