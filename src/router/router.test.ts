/**
 * The proxy on loopback sockets: instances are plain Node HTTP servers, the table is fed the
 * events the controller would publish. (The same router against the real engine and Kafka is
 * test/router/router-kafka.test.ts.)
 */
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../test/support/wait.ts";
import { createLogger } from "../logger.ts";
import type { RouterEvent } from "./route-table.ts";
import { type Router, startRouter } from "./router.ts";

type Instance = {
  readonly name: string;
  readonly port: number;
  readonly seen: http.IncomingHttpHeaders[];
  /** Requests to /slow waiting now. */
  waiting(): number;
  /** Requests to /slow wait until this is called. */
  release(): void;
  close(): Promise<void>;
};

async function startInstance(name: string): Promise<Instance> {
  const seen: http.IncomingHttpHeaders[] = [];
  const upgraded = new Set<import("node:stream").Duplex>();
  let releases: Array<() => void> = [];
  const server = http.createServer((request, response) => {
    seen.push(request.headers);
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const answer = () => {
        response.writeHead(200, { "content-type": "application/json", "x-instance": name });
        response.end(
          JSON.stringify({
            name,
            url: request.url,
            headers: request.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      };
      if (request.url === "/slow") releases.push(answer);
      else answer();
    });
  });
  server.on("upgrade", (request, socket) => {
    upgraded.add(socket);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${request.headers.upgrade}\r\nconnection: Upgrade\r\nx-instance: ${name}\r\n\r\n`,
    );
    socket.on("data", (chunk: Buffer) => socket.write(`${name}:${chunk.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    seen,
    waiting: () => releases.length,
    release: () => {
      for (const answer of releases) answer();
      releases = [];
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of upgraded) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let eventCounter = 0;
function event(
  type: string,
  instanceId: string,
  port: number | null,
  hostname = "shop.test",
): RouterEvent {
  eventCounter += 1;
  return {
    id: `event-${eventCounter}`,
    type,
    data: {
      image_id: 1,
      instance_id: instanceId,
      app_hostname: hostname,
      host: "127.0.0.1",
      host_port: port,
    },
  };
}

/** The router's /metrics, from its own listener. */
async function scrape(router: Router): Promise<string> {
  const response = await fetch(`${router.metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

async function get(
  router: Router,
  path: string,
  host = "shop.test",
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  // fetch() may not set Host; node:http may.
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port: router.port,
        path,
        method: init.method ?? "GET",
        headers: { ...init.headers, host },
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const headers = new Headers();
          for (const [name, value] of Object.entries(response.headers)) {
            if (typeof value === "string") headers.set(name, value);
          }
          resolve({ status: response.statusCode ?? 0, headers, text, json });
        });
      },
    );
    request.on("error", reject);
    request.end(init.body);
  });
}

/**
 * Sends `text` on a fresh connection to the router and collects what comes back until `done`
 * says so or the connection closes (10 s at most).
 */
async function talk(
  router: Router,
  text: string,
  done: (received: string) => boolean = () => false,
): Promise<{ received: string; closed: boolean }> {
  const socket = net.connect(router.port, "127.0.0.1");
  let received = "";
  let closed = false;
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    closed = true;
  });
  socket.write(text);
  const deadline = Date.now() + 10_000;
  while (!closed && !done(received) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  socket.destroy();
  return { received, closed };
}

describe("the router", () => {
  let router: Router;
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    [a, b] = await Promise.all([startInstance("a"), startInstance("b")]);
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });
  afterEach(async () => {
    await router?.close();
  });
  const start = async (events: readonly RouterEvent[]) => {
    router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("silent"),
      ejectMs: 60_000,
    });
    for (const item of events) router.apply(item);
    return router;
  };

  it("sends requests round robin to the ready instances of the Host, with X-Forwarded-*", async () => {
    await start([event("container.started", "a", a.port), event("container.started", "b", b.port)]);
    const answers = [];
    for (let index = 0; index < 4; index += 1)
      answers.push(await get(router, "/x", "Shop.Test:80"));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
    expect(answers.map((answer) => answer.json.name).sort()).toEqual(["a", "a", "b", "b"]);
    expect(answers[0]?.json.name).not.toBe(answers[1]?.json.name);
    expect(answers[0]?.json.headers).toMatchObject({
      host: "Shop.Test:80",
      "x-forwarded-host": "Shop.Test:80",
      "x-forwarded-proto": "http",
      "x-forwarded-for": "127.0.0.1",
    });
    const posted = await get(router, "/form", "shop.test", { method: "POST", body: "hello" });
    expect(posted.json.body).toBe("hello");
  });

  it("puts its own word on the client last: a client's forwarding headers cannot pass for the router's", async () => {
    await start([event("container.started", "a", a.port)]);
    const answer = await get(router, "/x", "shop.test", {
      headers: {
        forwarded: 'for=6.6.6.6;host="bank.test";proto=https',
        "x-forwarded-for": "6.6.6.6",
        "x-forwarded-host": "bank.test",
        "x-forwarded-proto": "https",
        "x-real-ip": "6.6.6.6",
      },
    });
    expect(answer.json.headers).toMatchObject({
      forwarded:
        'for=6.6.6.6;host="bank.test";proto=https, for=127.0.0.1;host="shop.test";proto=http',
      "x-forwarded-for": "6.6.6.6, 127.0.0.1",
      "x-forwarded-host": "shop.test",
      "x-forwarded-proto": "http",
      "x-real-ip": "127.0.0.1",
    });
  });

  it("routes a request in absolute form by its target, and sends it on in origin form", async () => {
    const other = event("container.started", "b", b.port, "other.test");
    await start([
      event("container.started", "a", a.port),
      { ...other, data: { ...other.data, image_id: 2 } },
    ]);
    // node:http sends a path that is a URL as is: `GET http://Other.Test/x?y=1 HTTP/1.1`.
    const answer = await get(router, "http://Other.Test/x?y=1", "shop.test");
    expect(answer.json).toMatchObject({
      name: "b",
      url: "/x?y=1",
      headers: { host: "other.test", "x-forwarded-host": "other.test" },
    });
  });

  it("never shows a client where an instance is: a 502 names no address, port or error", async () => {
    const dead = await closedPort();
    await start([event("container.started", "dead", dead)]);
    const failed = await get(router, "/");
    expect(failed.status).toBe(502);
    expect(failed.json).toMatchObject({ code: "upstream_unreachable" });
    expect(failed.text).not.toContain(String(dead));
    expect(failed.text).not.toContain("127.0.0.1");
    expect(failed.text).not.toMatch(/ECONN|connect/);
  });

  it("keeps Host and its own forwarding headers whatever the client's Connection names", async () => {
    await start([event("container.started", "a", a.port)]);
    const answer = await get(router, "/x", "shop.test", {
      headers: {
        connection: "host, x-forwarded-for, x-forwarded-host, x-real-ip, forwarded, x-custom",
        "x-custom": "dropped",
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.json.headers).toMatchObject({
      host: "shop.test",
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-host": "shop.test",
      "x-real-ip": "127.0.0.1",
    });
    expect(answer.json.headers["x-custom"]).toBeUndefined();
  });

  it("sends an upgrade to anything but WebSocket (h2c) on as a plain request: no tunnel past the router", async () => {
    // The instance would switch to any protocol asked for; an h2c tunnel would carry the
    // client's next requests (forged X-Forwarded-For, X-Real-IP) past the router.
    await start([event("container.started", "b", b.port)]);
    const { received } = await talk(
      router,
      "GET /h2 HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
      (text) => text.includes('"name"'),
    );
    expect(received).toMatch(/^HTTP\/1.1 200 /);
    const body = JSON.parse(received.slice(received.indexOf("{"), received.lastIndexOf("}") + 1));
    expect(body.url).toBe("/h2");
    expect(body.headers.upgrade).toBeUndefined();
    expect(body.headers["x-forwarded-for"]).toBe("127.0.0.1");
    // A WebSocket upgrade still passes.
    const websocket = await talk(
      router,
      "GET /ws HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n",
      (text) => text.includes("\r\n\r\n"),
    );
    expect(websocket.received).toMatch(/^HTTP\/1.1 101 /);
  });

  it("answers 400 to a request whose Host the router and an instance could read apart", async () => {
    await start([event("container.started", "a", a.port)]);
    const before = a.seen.length;
    const duplicate = await talk(
      router,
      "GET / HTTP/1.1\r\nHost: other.test\r\nHost: shop.test\r\n\r\n",
      (text) => text.includes("}"),
    );
    expect(duplicate.received).toMatch(/^HTTP\/1.1 400 /);
    expect(duplicate.received).toContain('"code":"bad_host"');
    const unparsable = await talk(
      router,
      "GET http://shop.test:99999/x HTTP/1.1\r\nHost: shop.test\r\n\r\n",
      (text) => text.includes("}"),
    );
    expect(unparsable.received).toMatch(/^HTTP\/1.1 400 /);
    expect(unparsable.received).toContain('"code":"bad_request_target"');
    expect(a.seen.length).toBe(before);
  });

  it("holds a bounded total of request bodies: past it a body is refused with 503, and taken again once one is sent", {
    timeout: 60_000,
  }, async () => {
    router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("silent"),
      maxBodyBytes: 1_000,
      maxBufferedBytes: 1_500,
    });
    router.apply(event("container.started", "a", a.port));
    const post = (body: string) => get(router, "/p", "shop.test", { method: "POST", body });
    // A client sends 900 of its 1,000 bytes and waits: the router holds them.
    const slow = net.connect(router.port, "127.0.0.1");
    let slowAnswer = "";
    slow.on("data", (chunk: Buffer) => {
      slowAnswer += chunk.toString();
    });
    slow.write(
      `POST /slow-body HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 1000\r\n\r\n${"x".repeat(900)}`,
    );
    try {
      await waitFor(
        () => scrape(router),
        (text) => text.includes("orchestrator_router_buffered_body_bytes 900"),
        { what: "the router holding 900 body bytes" },
      );
      const refused = await post("y".repeat(900));
      expect(refused.status).toBe(503);
      expect(refused.json).toMatchObject({ code: "router_busy" });
      expect(refused.headers.get("retry-after")).toBe("1");
      // What fits still passes.
      expect((await post("small")).json.body).toBe("small");
      slow.write("x".repeat(100));
      await waitFor(
        async () => slowAnswer,
        (text) => text.includes("}"),
        { what: "the slow body's answer" },
      );
      expect(slowAnswer).toMatch(/^HTTP\/1.1 200 /);
      expect(slowAnswer).toContain("/slow-body");
      const later = await post("y".repeat(900));
      expect(later.status).toBe(200);
      expect(later.json.body).toHaveLength(900);
      expect(await scrape(router)).toContain("orchestrator_router_buffered_body_bytes 0");
      // A client that leaves halfway gives its bytes back.
      const leaver = net.connect(router.port, "127.0.0.1");
      leaver.on("error", () => {});
      leaver.write(
        `POST /left HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 1000\r\n\r\n${"x".repeat(500)}`,
      );
      await waitFor(
        () => scrape(router),
        (text) => text.includes("orchestrator_router_buffered_body_bytes 500"),
        { what: "the router holding the leaving client's 500 bytes" },
      );
      leaver.destroy();
      await waitFor(
        () => scrape(router),
        (text) => text.includes("orchestrator_router_buffered_body_bytes 0"),
        { what: "the leaving client's bytes given back" },
      );
    } finally {
      slow.destroy();
    }
  });

  it.each([
    ["status 000", "HTTP/1.1 000 Zero\r\ncontent-length: 0\r\n\r\n"],
    ["status 099", "HTTP/1.1 099 Low\r\ncontent-length: 0\r\n\r\n"],
    ["101 unasked", "HTTP/1.1 101 Switching\r\nupgrade: x\r\nconnection: upgrade\r\n\r\nraw"],
  ])(
    "answers 502 to an instance's %s, and lives on for the other tenants",
    async (_name, answer) => {
      // A tenant's code answers what no HTTP response may be: it must not end the router.
      const garbler = net.createServer((socket) => {
        socket.on("error", () => {});
        socket.once("data", () => socket.end(answer));
      });
      await new Promise<void>((resolve) => garbler.listen(0, "127.0.0.1", resolve));
      try {
        const other = event("container.started", "b", b.port, "other.test");
        await start([
          event("container.started", "garbler", (garbler.address() as AddressInfo).port),
          { ...other, data: { ...other.data, image_id: 2 } },
        ]);
        const garbled = await get(router, "/");
        expect(garbled.status).toBe(502);
        expect(garbled.json).toMatchObject({ code: "upstream_unreachable" });
        expect((await get(router, "/", "other.test")).json.name).toBe("b");
      } finally {
        await new Promise((resolve) => garbler.close(resolve));
      }
    },
  );

  it("tries another instance when one refuses the connection, and counts the retry", async () => {
    const dead = await closedPort();
    await start([
      event("container.started", "dead", dead),
      event("container.started", "b", b.port),
    ]);
    const statuses = [];
    for (let index = 0; index < 6; index += 1) statuses.push((await get(router, "/")).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    const metrics = await scrape(router);
    expect(metrics).toMatch(/orchestrator_router_upstream_retries_total\{host="shop.test"\} [1-9]/);
    // A POST is retried too when the connection never reached the instance.
    const posted = await get(router, "/p", "shop.test", { method: "POST", body: "once" });
    expect(posted.status).toBe(200);
  });

  it.each(["container.stopped", "container.draining"])(
    "drains an instance on %s: no new requests, the one in flight completes",
    async (type) => {
      await start([
        event("container.started", "a", a.port),
        event("container.started", "b", b.port),
      ]);
      // Counter 0 picks the first ready in instance order: a.
      const inFlight = get(router, "/slow");
      const deadline = Date.now() + 10_000;
      while (a.waiting() === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      router.apply(event(type, "a", a.port));
      const after = [];
      for (let index = 0; index < 4; index += 1) after.push((await get(router, "/")).json.name);
      expect(after).toEqual(["b", "b", "b", "b"]);
      a.release();
      const finished = await inFlight;
      expect(finished.status).toBe(200);
      expect(finished.json.name).toBe("a");
    },
  );

  it("sends an idempotent request reset before any answer to another instance, never a POST", async () => {
    // An instance that takes the connection and resets it once a request arrives (what
    // docker-proxy does for a container that is gone or not listening yet).
    let resets = 0;
    const resetter = net.createServer((socket) => {
      socket.once("data", () => {
        resets += 1;
        socket.resetAndDestroy();
      });
    });
    await new Promise<void>((resolve) => resetter.listen(0, "127.0.0.1", resolve));
    try {
      const resetPort = (resetter.address() as AddressInfo).port;
      // "a-reset" sorts first: the first request tries it first.
      await start([
        event("container.started", "a-reset", resetPort),
        event("container.started", "b", b.port),
      ]);
      const posted = await get(router, "/p", "shop.test", { method: "POST", body: "once" });
      expect(posted.status).toBe(502);
      expect(posted.json).toMatchObject({ code: "upstream_unreachable" });
      expect(resets).toBe(1);
      // Started again (which ends its ejection): GETs that meet the reset go on to b.
      router.apply(event("container.started", "a-reset", resetPort));
      const answers = [];
      for (let index = 0; index < 4; index += 1) answers.push(await get(router, "/g"));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
      expect(answers.map((answer) => answer.json.name)).toEqual(["b", "b", "b", "b"]);
      expect(resets).toBeGreaterThanOrEqual(2);
    } finally {
      await new Promise((resolve) => resetter.close(resolve));
    }
  });

  it("answers 503 when the hostname has no ready instance, 404 for an unknown one, 502 when all fail", async () => {
    await start([event("container.created", "a", null)]);
    const unavailable = await get(router, "/");
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("content-type")).toBe("application/problem+json");
    expect(unavailable.headers.get("retry-after")).toBe("1");
    expect(unavailable.json).toMatchObject({ status: 503, code: "no_ready_instance" });
    const unknown = await get(router, "/", "nobody.test");
    expect(unknown.json).toMatchObject({ status: 404, code: "unknown_host" });
    router.apply(event("container.started", "a", await closedPort()));
    const failed = await get(router, "/");
    expect(failed.status).toBe(502);
    expect(failed.json).toMatchObject({ status: 502, code: "upstream_unreachable" });
  });

  it("holds requests for an image scaled to zero, wakes it once, and forwards once it is ready", async () => {
    const woken: number[] = [];
    router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("silent"),
      wake: {
        call: async (imageId) => {
          woken.push(imageId);
          // The instance the wake asked for starts a moment later (its events come in).
          setTimeout(() => router.apply(event("container.started", "a", a.port)), 300);
        },
        timeoutMs: 30_000,
      },
    });
    // The image's last instance is gone: its hostname is known, nothing is ready.
    router.apply(event("container.started", "old", b.port));
    router.apply(event("container.removed", "old", null));
    const answers = await Promise.all([get(router, "/one"), get(router, "/two")]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(answers.map((answer) => answer.json.name)).toEqual(["a", "a"]);
    expect(woken).toEqual([1]);
    const metrics = await scrape(router);
    expect(metrics).toContain('orchestrator_router_wakes_total{host="shop.test"} 1');
  });

  it("answers 503 once a held request's wait is over with no ready instance", async () => {
    router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      logger: createLogger("silent"),
      wake: { call: async () => {}, timeoutMs: 300 },
    });
    router.apply(event("container.created", "a", null));
    const answer = await get(router, "/");
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ code: "no_ready_instance" });
    expect(answer.json.detail).toMatch(/woken, none was ready within 300 ms/);
  });

  it("passes a WebSocket upgrade through, both ways", async () => {
    await start([event("container.started", "b", b.port)]);
    const socket = net.connect(router.port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.write(
      "GET /ws HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    const deadline = Date.now() + 10_000;
    while (!received.includes("\r\n\r\n") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(received).toMatch(/^HTTP\/1.1 101 /);
    expect(received.toLowerCase()).toContain("x-instance: b");
    socket.write("ping");
    while (!received.includes("b:ping") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(received).toContain("b:ping");
    socket.destroy();
  });

  it("ends an upgrade the instance did not accept: nothing sent after it reaches the instance", {
    timeout: 30_000,
  }, async () => {
    // An instance with no WebSocket: it answers the upgrade as a plain request and keeps the
    // connection. Were the tunnel kept, the client could send requests straight to it, past the
    // router (a forged X-Forwarded-For the router never appends to, no count in its metrics).
    const seen: string[] = [];
    const plain = http.createServer((request, response) => {
      seen.push(`${request.url} ${request.headers["x-forwarded-for"]}`);
      response.end("plain");
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      await start([event("container.started", "p", (plain.address() as AddressInfo).port)]);
      const socket = net.connect(router.port, "127.0.0.1");
      let received = "";
      let closed = false;
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString();
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        closed = true;
      });
      socket.write(
        "GET /ws HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /early HTTP/1.1\r\nHost: shop.test\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
      );
      const deadline = Date.now() + 10_000;
      while (!received.includes("plain") && !closed && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(received).toMatch(/^HTTP\/1.1 200 /);
      if (!closed) {
        socket.write(
          "GET /smuggled HTTP/1.1\r\nHost: shop.test\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
        );
      }
      while (!closed && seen.length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      socket.destroy();
      expect(seen).toEqual(["/ws 127.0.0.1"]);
      expect(closed).toBe(true);
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  it("shows requests, latency and ready upstreams per host on its own /metrics", async () => {
    await start([event("container.started", "a", a.port), event("container.started", "b", b.port)]);
    await get(router, "/");
    const metrics = await scrape(router);
    expect(metrics).toContain('orchestrator_router_upstreams{host="shop.test"} 2');
    expect(metrics).toContain(
      'orchestrator_router_requests_total{host="shop.test",status="200"} 1',
    );
    expect(metrics).toContain(
      'orchestrator_router_request_duration_seconds_count{host="shop.test"} 1',
    );
    expect(metrics).toContain("process_cpu_seconds_total");
    router.apply(event("container.removed", "a", null));
    const after = await scrape(router);
    expect(after).toContain('orchestrator_router_upstreams{host="shop.test"} 1');
  });

  it("counts requests under Hosts no image has as `unknown`: a client cannot grow its series", async () => {
    await start([event("container.started", "a", a.port)]);
    for (let index = 0; index < 20; index += 1) {
      expect((await get(router, "/", `random-${index}.test`)).status).toBe(404);
    }
    await talk(
      router,
      "GET /ws HTTP/1.1\r\nHost: random-ws.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    const metrics = await scrape(router);
    expect(metrics).not.toContain("random-");
    expect(metrics).toContain('orchestrator_router_requests_total{host="unknown",status="404"} 20');
  });

  it("forgets the series of a hostname no image has any more: renamed, then deleted", async () => {
    await start([event("container.started", "a", a.port)]);
    expect((await get(router, "/")).status).toBe(200);
    expect(await scrape(router)).toContain(
      'orchestrator_router_requests_total{host="shop.test",status="200"} 1',
    );
    // The image takes another hostname: the old one's series go, the new one's come.
    router.apply(event("container.healthy", "a", a.port, "renamed.test"));
    expect((await get(router, "/", "renamed.test")).status).toBe(200);
    const renamed = await scrape(router);
    expect(renamed).not.toContain('host="shop.test"');
    expect(renamed).toContain(
      'orchestrator_router_request_duration_seconds_count{host="renamed.test"} 1',
    );
    eventCounter += 1;
    router.apply({ id: `event-${eventCounter}`, type: "image.deleted", data: { image_id: 1 } });
    const deleted = await scrape(router);
    expect(deleted).not.toContain("renamed.test");
    expect(deleted).not.toContain("shop.test");
    // A Host no image has is counted as `unknown`, as always.
    expect((await get(router, "/", "renamed.test")).status).toBe(404);
    expect(await scrape(router)).toContain(
      'orchestrator_router_requests_total{host="unknown",status="404"} 1',
    );
  });

  it("forgets a hostname whose last request was answered after the hostname went", async () => {
    await start([event("container.started", "a", a.port)]);
    const slow = get(router, "/slow");
    await waitFor(
      async () => a.waiting(),
      (waiting) => waiting === 1,
      { what: "the slow request" },
    );
    eventCounter += 1;
    router.apply({ id: `event-${eventCounter}`, type: "image.deleted", data: { image_id: 1 } });
    expect(await scrape(router)).not.toContain("shop.test");
    // The request on the wire is answered, and counted, after its hostname's series went.
    a.release();
    expect((await slow).status).toBe(200);
    // The next event, whoever's, forgets the series that answer made.
    eventCounter += 1;
    router.apply({
      id: `event-${eventCounter}`,
      type: "container.started",
      data: {
        image_id: 2,
        instance_id: "b",
        app_hostname: "other.test",
        host: "127.0.0.1",
        host_port: b.port,
      },
    });
    expect(await scrape(router)).not.toContain("shop.test");
  });

  it("keeps its /metrics (every tenant's hostnames and traffic) off the proxy", async () => {
    await start([event("container.started", "a", a.port)]);
    await get(router, "/");
    for (const host of ["localhost", "router.internal:8080", "127.0.0.1", "other.test"]) {
      const answer = await get(router, "/metrics", host);
      expect(answer.status, host).toBe(404);
      expect(answer.json.code).toBe("unknown_host");
      expect(answer.text).not.toContain("shop.test");
      // A load balancer in front still sees the proxy's health.
      expect((await get(router, "/healthz", host)).status).toBe(200);
    }
    expect(await scrape(router)).toContain('orchestrator_router_upstreams{host="shop.test"} 1');
    expect((await fetch(`${router.metricsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${router.metricsUrl}/`)).status).toBe(404);
  });

  it("asks for its token on /metrics when it has one (ROUTER_METRICS_TOKEN)", async () => {
    router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      metrics: { host: "127.0.0.1", port: 0, token: "metrics-secret" },
      logger: createLogger("silent"),
    });
    router.apply(event("container.started", "a", a.port));
    for (const authorization of [undefined, "Bearer wrong", "metrics-secret", "Basic x"]) {
      const refused = await fetch(`${router.metricsUrl}/metrics`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(refused.status, authorization).toBe(401);
      expect(refused.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await refused.text()).not.toContain("shop.test");
    }
    const scraped = await fetch(`${router.metricsUrl}/metrics`, {
      headers: { authorization: "Bearer metrics-secret" },
    });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('orchestrator_router_upstreams{host="shop.test"} 1');
    // Health stays open: it tells nothing of any tenant.
    expect((await fetch(`${router.metricsUrl}/healthz`)).status).toBe(200);
  });
});
