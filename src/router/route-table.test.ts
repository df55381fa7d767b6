import { describe, expect, it } from "vitest";
import {
  applyRouterEvent,
  attemptOrder,
  emptyRouteTable,
  hostnameOf,
  imageOfHostname,
  knowsHostname,
  type RouterEvent,
  type RouteTable,
  readyUpstreams,
  upstreamCounts,
} from "./route-table.ts";

let nextId = 0;
function container(
  type: string,
  instanceId: string,
  extra: Record<string, unknown> = {},
): RouterEvent {
  nextId += 1;
  return {
    id: `e${nextId}`,
    type,
    data: {
      image_id: 1,
      instance_id: instanceId,
      app_hostname: "Shop.Example.com",
      host: "127.0.0.1",
      host_port: type === "container.removed" ? null : 30_000 + instanceId.length,
      ...extra,
    },
  };
}

const replay = (events: readonly RouterEvent[], table: RouteTable = emptyRouteTable) =>
  events.reduce(applyRouterEvent, table);

const readyIds = (table: RouteTable, host = "shop.example.com") =>
  readyUpstreams(table, host).map((upstream) => upstream.instanceId);

describe("the route table", () => {
  it("routes a started instance by its lower-cased hostname, not a created one", () => {
    const created = replay([container("container.created", "a")]);
    expect(readyIds(created)).toEqual([]);
    expect(knowsHostname(created, "shop.example.com")).toBe(true);
    const started = replay([container("container.started", "a")], created);
    expect(readyUpstreams(started, "shop.example.com")).toEqual([
      {
        instanceId: "a",
        imageId: 1,
        hostname: "shop.example.com",
        host: "127.0.0.1",
        port: 30_001,
        ready: true,
        draining: false,
      },
    ]);
  });

  it("routes a hostname to the user whose image took it last, never to another user's too", () => {
    // Alice's image 1 had the hostname and left it by a PATCH (no event: the table still has
    // it); Bob's image 2 then took it. Alice's instances must get none of Bob's requests.
    const of = (imageId: number, userId: string) => (type: string, instanceId: string) =>
      container(type, instanceId, { image_id: imageId, user_id: userId });
    const deleted = (imageId: number): RouterEvent => ({
      id: `deleted-${imageId}`,
      type: "image.deleted",
      data: { image_id: imageId, user_id: "8", app_hostname: "shop.example.com" },
    });
    let table = replay([of(1, "7")("container.started", "a1")]);
    expect(readyIds(table)).toEqual(["a1"]);
    table = replay([of(2, "8")("container.started", "b1")], table);
    expect(readyIds(table)).toEqual(["b1"]);
    expect(imageOfHostname(table, "shop.example.com")).toBe(2);
    expect(upstreamCounts(table).get("shop.example.com")).toBe(1);
    // An event that names no user keeps the image's owner.
    table = replay([container("container.healthy", "b1", { image_id: 2 })], table);
    expect(readyIds(table)).toEqual(["b1"]);
    // Bob's own second image with it shares his requests.
    table = replay([of(3, "8")("container.started", "b2")], table);
    expect(readyIds(table)).toEqual(["b1", "b2"]);
    // Bob's images gone, nobody owns it: the image left with it routes again.
    table = replay([deleted(2)], table);
    expect(readyIds(table)).toEqual(["b2"]);
    table = replay([deleted(3)], table);
    expect(readyIds(table)).toEqual(["a1"]);
    expect(imageOfHostname(table, "shop.example.com")).toBe(1);
  });

  it("drains an instance on stopped, failed or unhealthy, and forgets it on removed", () => {
    for (const type of ["container.stopped", "container.failed", "container.unhealthy"]) {
      const table = replay([container("container.started", "a"), container(type, "a")]);
      expect(readyIds(table)).toEqual([]);
      expect(table.upstreams.has("a")).toBe(true);
    }
    const removed = replay([
      container("container.started", "a"),
      container("container.removed", "a"),
    ]);
    expect(removed.upstreams.size).toBe(0);
    const healthyAgain = replay([
      container("container.started", "a"),
      container("container.unhealthy", "a"),
      container("container.healthy", "a"),
    ]);
    expect(readyIds(healthyAgain)).toEqual(["a"]);
  });

  it("drains an instance marked for deletion for good: a later start does not make it ready", () => {
    const draining = replay([
      container("container.started", "a"),
      container("container.started", "b"),
      container("container.draining", "a", { reason: "spec_changed" }),
    ]);
    expect(readyIds(draining)).toEqual(["b"]);
    expect(draining.upstreams.get("a")).toMatchObject({ ready: false, draining: true });
    const restarted = replay(
      [container("container.started", "a"), container("container.healthy", "a")],
      draining,
    );
    expect(readyIds(restarted)).toEqual(["b"]);
    expect(upstreamCounts(restarted)).toEqual(new Map([["shop.example.com", 1]]));
    const removed = replay(
      [container("container.stopped", "a"), container("container.removed", "a")],
      restarted,
    );
    expect(removed.upstreams.has("a")).toBe(false);
  });

  it("ignores a redelivered event (at-least-once) by its id", () => {
    const started = container("container.started", "a");
    const stopped = container("container.stopped", "a");
    expect(readyIds(replay([started, stopped, started]))).toEqual([]);
  });

  it("needs a published port to route", () => {
    const table = replay([container("container.started", "a", { host_port: null })]);
    expect(readyIds(table)).toEqual([]);
  });

  it("moves every instance of an image when an image event carries a new hostname", () => {
    const table = replay([
      container("container.started", "a"),
      container("container.started", "bb"),
      { id: "scaled", type: "image.scaled", data: { image_id: 1, app_hostname: "new.example" } },
    ]);
    expect(readyIds(table)).toEqual([]);
    expect(knowsHostname(table, "shop.example.com")).toBe(false);
    expect(readyIds(table, "new.example")).toEqual(["a", "bb"]);
  });

  it("forgets an image's instances and hostname when the image is deleted", () => {
    const table = replay([
      container("container.started", "a"),
      container("container.started", "x", { image_id: 2, app_hostname: "other.example" }),
      {
        id: "gone",
        type: "image.deleted",
        data: { image_id: 1, app_hostname: "shop.example.com" },
      },
    ]);
    expect([...table.upstreams.keys()]).toEqual(["x"]);
    expect(knowsHostname(table, "shop.example.com")).toBe(false);
    expect(upstreamCounts(table)).toEqual(new Map([["other.example", 1]]));
  });

  it("ignores events without an image (and keeps the table when nothing applies)", () => {
    const table = replay([{ id: "p", type: "pool.claimed", data: {} }]);
    expect(table.upstreams.size).toBe(0);
    expect(table.seen.has("p")).toBe(true);
  });

  it("counts ready upstreams per hostname, zero for a known hostname with none", () => {
    const table = replay([
      container("container.created", "a"),
      container("container.started", "bb"),
    ]);
    expect(upstreamCounts(table)).toEqual(new Map([["shop.example.com", 1]]));
    const drained = replay([container("container.stopped", "bb")], table);
    expect(upstreamCounts(drained)).toEqual(new Map([["shop.example.com", 0]]));
  });
});

describe("hostnameOf", () => {
  it.each([
    ["Shop.Example.com:8080", "shop.example.com"],
    ["shop.example.com", "shop.example.com"],
    ["[::1]:8080", "[::1]"],
    [undefined, ""],
  ])("%s → %s", (header, expected) => {
    expect(hostnameOf(header)).toBe(expected);
  });
});

describe("attemptOrder", () => {
  const table = replay([
    container("container.started", "a"),
    container("container.started", "bb"),
    container("container.started", "ccc"),
  ]);
  const ready = readyUpstreams(table, "shop.example.com");
  const ids = (order: readonly { instanceId: string }[]) => order.map((u) => u.instanceId);

  it("rotates the first choice per request and keeps the others as retries", () => {
    expect(ids(attemptOrder(ready, 0, () => false))).toEqual(["a", "bb", "ccc"]);
    expect(ids(attemptOrder(ready, 1, () => false))).toEqual(["bb", "ccc", "a"]);
    expect(ids(attemptOrder(ready, 5, () => false))).toEqual(["ccc", "a", "bb"]);
  });

  it("tries recently refused instances last, and still tries them when all were refused", () => {
    expect(ids(attemptOrder(ready, 0, (id) => id === "a"))).toEqual(["bb", "ccc", "a"]);
    expect(ids(attemptOrder(ready, 0, () => true))).toEqual(["a", "bb", "ccc"]);
    expect(attemptOrder([], 3, () => false)).toEqual([]);
  });
});
