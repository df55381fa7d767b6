import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "../logger.ts";
import { createBodyBudget } from "./body-budget.ts";
import { forwardRequest } from "./forward.ts";
import { BodyBudgetSpent, BodyTooLarge, ClientLeft, readBody } from "./read-body.ts";
import { requestTarget } from "./request-target.ts";
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
  type Upstream,
  upstreamCounts,
} from "./route-table.ts";
import { createMetricsServer, healthy, isGet, listen, problem } from "./router-http.ts";
import { createRouterMetrics } from "./router-metrics.ts";
import { isWebSocketUpgrade, passUpgrade } from "./upgrade.ts";
import { createWaitingRoom } from "./waiting-room.ts";

export type RouterOptions = {
  readonly host: string;
  readonly port: number;
  /**
   * Where the router's own /metrics and /healthz listen (default 127.0.0.1, any free port):
   * apart from the proxy, whose clients are anyone on the internet, so that no tenant reads
   * every other tenant's hostnames and traffic off the scrape. With `token`, /metrics also asks
   * for it as a bearer token (401 without): for a listener tenants' containers could reach.
   */
  readonly metrics?: { readonly host: string; readonly port: number; readonly token?: string };
  readonly logger: Logger;
  /** How long an instance that refused a connection is tried last (default 5 s). */
  readonly ejectMs?: number;
  /** Bodies are buffered (to retry them); larger ones are refused with 413 (default 10 MiB). */
  readonly maxBodyBytes?: number;
  /**
   * Body bytes held at once over all requests; a body that would pass it is refused with 503
   * (default 256 MiB), so that no client holds the router's memory.
   */
  readonly maxBufferedBytes?: number;
  /** Instances tried per request at most (default 3). */
  readonly maxAttempts?: number;
  /**
   * Scale to zero: a request for a hostname with no ready instance is held while `call` asks
   * the API for one (POST /api/images/{id}/wake, again every few seconds while requests wait),
   * and forwarded once an instance is ready; 503 after `timeoutMs`. Unset: 503 at once.
   */
  readonly wake?: {
    readonly call: (imageId: number) => Promise<void>;
    readonly timeoutMs: number;
  };
};

/**
 * How long a request whose tries failed while its image wakes waits before trying again; how
 * often an image with held requests is woken again, and how soon at most (an upgrade wakes too).
 */
const retryPauseMs = 200;
const wakeEveryMs = 3_000;
const minWakeGapMs = 2_500;

export type Router = {
  readonly url: string;
  readonly port: number;
  /** The metrics listener's base URL: its /metrics is what ROUTER_METRICS_URL names. */
  readonly metricsUrl: string;
  /** Feeds one lifecycle event to the table (the source calls this, in stream order). */
  apply(event: RouterEvent): void;
  table(): RouteTable;
  close(): Promise<void>;
};

/**
 * The hostname router: a reverse proxy whose table comes only from lifecycle events (see
 * route-table.ts), started on `host:port`. Requests go round robin to the ready instances of
 * the image whose `app_hostname` is the request's `Host`; a connection failure tries the next
 * one; 503 when the hostname has no ready instance, 502 when every try failed, 404 for a
 * hostname no image has, except `/healthz` (for a load balancer in front). The router's
 * `/metrics` (every tenant's hostnames and traffic) answers only on its own listener
 * (`options.metrics`), never on the proxy.
 */
export async function startRouter(options: RouterOptions): Promise<Router> {
  const ejectMs = options.ejectMs ?? 5_000;
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const maxAttempts = options.maxAttempts ?? 3;
  const logger = options.logger;
  const budget = createBodyBudget(options.maxBufferedBytes ?? 256 * 1024 * 1024);
  const metrics = createRouterMetrics(budget.held);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  let table = emptyRouteTable;
  const counters = new Map<string, number>();
  const ejectedUntil = new Map<string, number>();
  const isEjected = (instanceId: string) => (ejectedUntil.get(instanceId) ?? 0) > Date.now();
  const eject = (upstream: Upstream) => ejectedUntil.set(upstream.instanceId, Date.now() + ejectMs);

  const lastWake = new Map<number, number>();
  /** Hostnames with state here (a counter, metric series): forgotten once no image has them. */
  const hostnamesWithState = new Set<string>();
  const forgetGoneHostnames = () => {
    // One set of the table's hostnames, not a scan of every image for each hostname.
    const known = new Set(table.hostnames.values());
    for (const hostname of hostnamesWithState) {
      if (known.has(hostname)) continue;
      hostnamesWithState.delete(hostname);
      counters.delete(hostname);
      metrics.forgetHost(hostname);
    }
    for (const imageId of lastWake.keys()) {
      if (!table.hostnames.has(imageId)) lastWake.delete(imageId);
    }
    const now = Date.now();
    for (const [instanceId, until] of ejectedUntil) {
      if (until <= now) ejectedUntil.delete(instanceId);
    }
  };

  /**
   * One answered request, counted under `label` (a hostname, or `unknown`): a request answered
   * after its hostname went makes its series again, so the hostname has state to forget again.
   */
  const answered = (label: string, status: number, seconds?: number) => {
    if (label !== "unknown") hostnamesWithState.add(label);
    metrics.answered(label, status, seconds);
  };

  const orderFor = (hostname: string) => {
    hostnamesWithState.add(hostname);
    const ready = readyUpstreams(table, hostname);
    const counter = counters.get(hostname) ?? 0;
    counters.set(hostname, counter + 1);
    return attemptOrder(ready, counter, isEjected).slice(0, maxAttempts);
  };

  const wakeImage = (imageId: number, hostname: string) => {
    const wake = options.wake;
    const last = lastWake.get(imageId);
    if (wake === undefined || (last !== undefined && Date.now() - last < minWakeGapMs)) return;
    lastWake.set(imageId, Date.now());
    metrics.wakes.inc({ host: hostname });
    wake.call(imageId).catch((error: unknown) => {
      logger.warn({ err: error, imageId, hostname }, "waking the image failed");
    });
  };

  const room = createWaitingRoom({
    isReady: (hostname) => readyUpstreams(table, hostname).length > 0,
    wake: (hostname) => {
      const imageId = imageOfHostname(table, hostname);
      if (imageId !== undefined) wakeImage(imageId, hostname);
    },
    wakeEveryMs,
  });

  /**
   * Holds a request for a hostname with no ready instance until one is (true), or until
   * `deadline` or the client leaves (false), waking its image meanwhile.
   */
  const holdForInstance = async (
    hostname: string,
    response: http.ServerResponse,
    deadline: number,
  ): Promise<boolean> => {
    if (response.destroyed) return false;
    const left = new AbortController();
    const onClose = () => left.abort();
    response.once("close", onClose);
    try {
      return await room.wait(hostname, deadline, left.signal);
    } finally {
      response.off("close", onClose);
    }
  };

  /** The proxy's answer to a Host no image has: its health for a load balancer, else 404. */
  const own = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (isGet(request, "/healthz")) return healthy(response);
    return problem(
      response,
      404,
      "unknown_host",
      "No image has this hostname",
      `no image has app_hostname ${JSON.stringify(hostnameOf(request.headers.host))}`,
    );
  };

  const metricsServer = createMetricsServer(metrics.registry, logger, options.metrics?.token);

  const route = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    hostname: string,
  ): Promise<number> => {
    let order = orderFor(hostname);
    // Scale to zero: held (bounded) while the image is woken; a fresh instance may not listen
    // yet, so until the deadline a failed try is tried again.
    const deadline =
      options.wake === undefined || order.length > 0
        ? undefined
        : Date.now() + options.wake.timeoutMs;
    if (deadline !== undefined && (await holdForInstance(hostname, response, deadline))) {
      order = orderFor(hostname);
    }
    if (order.length === 0) {
      return problem(
        response,
        503,
        "no_ready_instance",
        "No instance is ready",
        deadline === undefined
          ? `${hostname} has no ready instance right now`
          : `${hostname} has no ready instance: woken, none was ready within ${options.wake?.timeoutMs} ms`,
      );
    }
    let body: Buffer;
    try {
      body = await readBody(request, maxBodyBytes, budget);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return problem(
          response,
          413,
          "payload_too_large",
          "Payload too large",
          `bodies over ${maxBodyBytes} bytes are refused`,
        );
      }
      if (error instanceof BodyBudgetSpent) {
        return problem(
          response,
          503,
          "router_busy",
          "The router is busy",
          "the router holds as many request bodies as it may: try again",
        );
      }
      if (error instanceof ClientLeft) return 499;
      throw error;
    }
    try {
      return await forwardBody(request, response, hostname, order, deadline, body);
    } finally {
      budget.give(body.length);
    }
  };

  /** Sends a buffered request to `order`, the next instance after a failed try. */
  const forwardBody = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    hostname: string,
    initialOrder: readonly Upstream[],
    deadline: number | undefined,
    body: Buffer,
  ): Promise<number> => {
    let order = initialOrder;
    let tries = 0;
    for (;;) {
      let retriable = true;
      for (const upstream of order) {
        if (response.destroyed) return 499;
        if (tries > 0) metrics.retries.inc({ host: hostname });
        tries += 1;
        const result = await forwardRequest(upstream, request, body, response, agent);
        if (result.kind === "answered") return result.status;
        eject(upstream);
        logger.debug(
          {
            hostname,
            instanceId: upstream.instanceId,
            err: result.error,
            retriable: result.retriable,
          },
          "upstream request failed",
        );
        retriable = result.retriable;
        if (!retriable) break;
      }
      if (!retriable || deadline === undefined || Date.now() >= deadline) break;
      await delay(retryPauseMs);
      order = orderFor(hostname);
      if (order.length === 0 && !(await holdForInstance(hostname, response, deadline))) break;
      if (order.length === 0) order = orderFor(hostname);
    }
    // Each try's error (the instance's address and port) is in the debug log, never the client's.
    return problem(
      response,
      502,
      "upstream_unreachable",
      "No instance answered",
      `every instance tried for ${hostname} failed (${tries} ${tries === 1 ? "try" : "tries"})`,
    );
  };

  const server = http.createServer(
    { keepAlive: true, shouldUpgradeCallback: isWebSocketUpgrade },
    (request, response) => {
      const started = performance.now();
      const target = requestTarget(request.url ?? "/", request.rawHeaders);
      if (!target.ok) {
        problem(response, 400, target.code, "Bad request", target.detail);
        answered("unknown", 400);
        return;
      }
      if (target.host !== undefined) request.headers.host = target.host;
      request.url = target.path;
      const hostname = hostnameOf(request.headers.host);
      const known = knowsHostname(table, hostname);
      const label = known ? hostname : "unknown";
      (known ? route(request, response, hostname) : own(request, response))
        .catch((error: unknown) => {
          logger.error({ err: error, hostname }, "router request failed");
          return problem(
            response,
            502,
            "router_error",
            "The router failed",
            "see the router's log",
          );
        })
        .then((status) => {
          answered(label, status, (performance.now() - started) / 1000);
        });
    },
  );

  // Upgraded connections leave the server's bookkeeping: close() ends them itself.
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Only a Node without shouldUpgradeCallback (older 22.x) brings another protocol here.
    if (!isWebSocketUpgrade(request)) {
      socket.end("HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    const target = requestTarget(request.url ?? "/", request.rawHeaders);
    if (!target.ok) {
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    if (target.host !== undefined) request.headers.host = target.host;
    request.url = target.path;
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    const hostname = hostnameOf(request.headers.host);
    const label = knowsHostname(table, hostname) ? hostname : "unknown";
    const order = label === "unknown" ? [] : orderFor(hostname);
    // An upgrade is not held (503 at once), but wakes a sleeping image for the client's retry.
    const sleeping =
      label === "unknown" || order.length > 0 ? undefined : imageOfHostname(table, hostname);
    if (sleeping !== undefined) wakeImage(sleeping, hostname);
    passUpgrade(order, request, socket, head, eject)
      .then((upstream) => {
        const status = upstream === undefined ? (order.length === 0 ? 503 : 502) : 101;
        answered(label, status);
        if (upstream === undefined) {
          socket.end(
            `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
          );
        }
      })
      .catch((error: unknown) => {
        logger.error({ err: error, hostname }, "router upgrade failed");
        socket.destroy();
      });
  });

  const url = await listen(server, options);
  let metricsUrl: string;
  try {
    metricsUrl = await listen(metricsServer, options.metrics ?? { host: "127.0.0.1", port: 0 });
  } catch (error) {
    server.close();
    throw error;
  }

  return {
    url,
    port: (server.address() as AddressInfo).port,
    metricsUrl,
    apply: (event) => {
      table = applyRouterEvent(table, event);
      room.changed();
      // A fresh start is news the ejection guessed without.
      if (event.type === "container.started" && typeof event.data.instance_id === "string") {
        ejectedUntil.delete(event.data.instance_id);
      }
      metrics.events.inc();
      forgetGoneHostnames();
      metrics.upstreams.reset();
      for (const [hostname, count] of upstreamCounts(table))
        metrics.upstreams.set({ host: hostname }, count);
    },
    table: () => table,
    close: async () => {
      room.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const socket of upgraded) socket.destroy();
      setTimeout(() => server.closeAllConnections(), 2_000).unref();
      metricsServer.closeAllConnections();
      await Promise.all([
        closed,
        new Promise<void>((resolve) => metricsServer.close(() => resolve())),
      ]);
      agent.destroy();
    },
  };
}
