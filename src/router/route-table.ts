import { RecentIds } from "./recent-ids.ts";

/**
 * The router's table, built only from lifecycle events (Kafka or the API's SSE stream): which
 * instances answer for which `app_hostname`, and which of them take new requests. Pure: events
 * in, a new table out; the proxy only reads it.
 */

/** The part of an event (CloudEvent from Kafka, or an API event) the table reads. */
export type RouterEvent = {
  readonly id: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
};

export type Upstream = {
  readonly instanceId: string;
  readonly imageId: number;
  readonly hostname: string | null;
  readonly host: string;
  readonly port: number | null;
  /** Started (or healthy again) and not stopped or draining since: takes new requests. */
  readonly ready: boolean;
  /**
   * Marked for deletion by the controller (`container.draining`): takes no new request, ever
   * again, while the requests in flight finish; forgotten on `container.removed`.
   */
  readonly draining: boolean;
};

export type RouteTable = {
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Each image's current hostname, from its latest event (image events carry it too). */
  readonly hostnames: ReadonlyMap<number, string | null>;
  /** Each image's owner (`user_id`; "" when its events name none). */
  readonly users: ReadonlyMap<number, string>;
  /**
   * Whose each hostname is: the owner of the image that took it last. The API gives a hostname
   * to one user, but an image that left it by a PATCH (no event) keeps it here until its next
   * event; its instances must not share the new owner's requests meanwhile.
   */
  readonly owners: ReadonlyMap<string, string>;
  /** Ids of recent events: delivery is at-least-once, a duplicate changes nothing. */
  readonly seen: RecentIds;
};

export const emptyRouteTable: RouteTable = {
  upstreams: new Map(),
  hostnames: new Map(),
  users: new Map(),
  owners: new Map(),
  seen: RecentIds.empty,
};

/** Instance states that take no new requests: the instance drains. */
const notReadyTypes = new Set(["container.stopped", "container.failed", "container.unhealthy"]);
const readyTypes = new Set(["container.started", "container.healthy"]);

const normalizeHostname = (value: unknown): string | null =>
  typeof value === "string" && value.length > 0 ? value.toLowerCase() : null;

/** The table after one event; events of other kinds (pool, builds) change only `seen`. */
export function applyRouterEvent(table: RouteTable, event: RouterEvent): RouteTable {
  if (table.seen.has(event.id)) return table;
  const seen = table.seen.with(event.id);
  const data = event.data;
  const imageId = typeof data.image_id === "number" ? data.image_id : undefined;
  if (imageId === undefined) return { ...table, seen };
  const hostname = normalizeHostname(data.app_hostname);
  // An event that names no owner (a pool's, a test's) keeps the one the image's events named.
  const userId =
    typeof data.user_id === "string" || typeof data.user_id === "number"
      ? String(data.user_id)
      : (table.users.get(imageId) ?? "");
  const hostnames = new Map(table.hostnames);
  const upstreams = new Map(table.upstreams);
  const users = new Map(table.users);
  const owners = new Map(table.owners);
  if (event.type === "image.deleted") {
    hostnames.delete(imageId);
    users.delete(imageId);
    for (const [id, upstream] of upstreams) if (upstream.imageId === imageId) upstreams.delete(id);
    // The owner's last image with the hostname gone: whoever else has it may have it.
    const name = table.hostnames.get(imageId);
    if (name !== undefined && name !== null && !ownedBy(hostnames, users, name, owners.get(name))) {
      owners.delete(name);
    }
    return { upstreams, hostnames, users, owners, seen };
  }
  users.set(imageId, userId);
  // The hostname is the image's: a change seen on any of its events moves all its instances.
  if (table.hostnames.get(imageId) !== hostname || !table.hostnames.has(imageId)) {
    hostnames.set(imageId, hostname);
    if (hostname !== null) owners.set(hostname, userId);
    for (const [id, upstream] of upstreams) {
      if (upstream.imageId === imageId) upstreams.set(id, { ...upstream, hostname });
    }
  }
  const instanceId = typeof data.instance_id === "string" ? data.instance_id : "";
  if (!event.type.startsWith("container.") || instanceId === "") {
    return { upstreams, hostnames, users, owners, seen };
  }
  if (event.type === "container.removed") {
    upstreams.delete(instanceId);
    return { upstreams, hostnames, users, owners, seen };
  }
  const previous = upstreams.get(instanceId);
  const port = typeof data.host_port === "number" && data.host_port > 0 ? data.host_port : null;
  // A mark for deletion is final: a later start (a restart in place) does not undo it.
  const draining = event.type === "container.draining" || (previous?.draining ?? false);
  const ready = draining
    ? false
    : readyTypes.has(event.type)
      ? port !== null
      : notReadyTypes.has(event.type)
        ? false
        : (previous?.ready ?? false);
  upstreams.set(instanceId, {
    instanceId,
    imageId,
    hostname,
    host: typeof data.host === "string" && data.host.length > 0 ? data.host : "127.0.0.1",
    port: port ?? previous?.port ?? null,
    ready,
    draining,
  });
  return { upstreams, hostnames, users, owners, seen };
}

/** Whether an image of `owner` has this hostname. */
function ownedBy(
  hostnames: ReadonlyMap<number, string | null>,
  users: ReadonlyMap<number, string>,
  hostname: string,
  owner: string | undefined,
): boolean {
  for (const [imageId, value] of hostnames) {
    if (value === hostname && users.get(imageId) === owner) return true;
  }
  return false;
}

/** Whether this image may answer for `hostname`: it has it, and is its owner's. */
function answersFor(table: RouteTable, imageId: number, hostname: string): boolean {
  if (table.hostnames.get(imageId) !== hostname) return false;
  const owner = table.owners.get(hostname);
  return owner === undefined || table.users.get(imageId) === owner;
}

/** The instances that take new requests for `hostname` (lower case, no port), in a stable order. */
export function readyUpstreams(table: RouteTable, hostname: string): Upstream[] {
  return [...table.upstreams.values()]
    .filter(
      (upstream) =>
        upstream.ready &&
        upstream.port !== null &&
        upstream.hostname === hostname &&
        answersFor(table, upstream.imageId, hostname),
    )
    .sort((left, right) => left.instanceId.localeCompare(right.instanceId));
}

/** Whether any image has this hostname (known but nothing ready → 503; unknown → 404). */
export function knowsHostname(table: RouteTable, hostname: string): boolean {
  for (const value of table.hostnames.values()) if (value === hostname) return true;
  return false;
}

/** The image whose hostname this is (its owner's newest, if several have it), for waking it. */
export function imageOfHostname(table: RouteTable, hostname: string): number | undefined {
  let found: number | undefined;
  for (const imageId of table.hostnames.keys()) {
    if (answersFor(table, imageId, hostname)) found = imageId;
  }
  return found;
}

/** Ready upstreams per hostname, for the router's metrics. */
export function upstreamCounts(table: RouteTable): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of table.hostnames.values()) if (value !== null) counts.set(value, 0);
  for (const upstream of table.upstreams.values()) {
    if (
      upstream.ready &&
      upstream.port !== null &&
      upstream.hostname !== null &&
      answersFor(table, upstream.imageId, upstream.hostname)
    ) {
      counts.set(upstream.hostname, (counts.get(upstream.hostname) ?? 0) + 1);
    }
  }
  return counts;
}

/** `Host: Shop.Example.com:8080` → `shop.example.com` (an IPv6 literal keeps its brackets). */
export function hostnameOf(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return "";
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  const colon = value.lastIndexOf(":");
  return colon >= 0 ? value.slice(0, colon) : value;
}

/**
 * Round robin over the ready instances, skipping those the proxy saw refuse a connection
 * recently (`ejected`), unless every one is: then all are tried, since an ejection is only a
 * guess. Returns the order to try them in; the caller advances `counter` once per request.
 */
export function attemptOrder(
  ready: readonly Upstream[],
  counter: number,
  ejected: (instanceId: string) => boolean,
): Upstream[] {
  if (ready.length === 0) return [];
  const start = counter % ready.length;
  const rotated = [...ready.slice(start), ...ready.slice(0, start)];
  const healthy = rotated.filter((upstream) => !ejected(upstream.instanceId));
  const rest = rotated.filter((upstream) => ejected(upstream.instanceId));
  return [...healthy, ...rest];
}
