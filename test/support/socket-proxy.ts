import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A byte-level proxy the test controls, between a client and a real service (the Docker
 * engine's unix socket, or Postgres over TCP). It can cut the service away (live connections
 * reset, new ones closed at once, as a restarting engine or server does), black-hole it (every
 * byte swallowed, connections left open: a network partition), and restore it. It counts the
 * connections clients try while the service is away, to tell patient back-off from a storm.
 */
export type SocketProxy = {
  /** For a unix socket: `unix://…` (DOCKER_HOST); for TCP: the port on 127.0.0.1. */
  readonly address: string;
  readonly port: number | undefined;
  /** Resets every live connection and refuses new ones. */
  cut(): void;
  /** Forwards nothing either way from now on, and resets nothing: a partition. */
  blackhole(): void;
  /** Forwards again; connections that lived through a black hole are closed. */
  restore(): void;
  /** Connections clients opened since the last cut() or blackhole(). */
  attemptsWhileAway(): number;
  /** What clients sent into the black hole since the last blackhole() (e.g. HTTP requests). */
  swallowed(): string;
  /**
   * Resets, once, the next connection whose client sends bytes containing `text` (latin1),
   * before they reach the service: a session that dies at that exact step.
   */
  resetWhenClientSends(text: string): void;
  /** Connections open right now. */
  readonly liveConnections: number;
  close(): Promise<void>;
};

type Target = { readonly path: string } | { readonly host: string; readonly port: number };

export async function startSocketProxy(target: Target): Promise<SocketProxy> {
  let mode: "forward" | "cut" | "blackhole" = "forward";
  let attempts = 0;
  let swallowed = "";
  let resetOn: string | undefined;
  const live = new Set<Socket>();
  const folder = "path" in target ? await mkdtemp(path.join(tmpdir(), "orch-proxy-")) : undefined;

  const server: Server = createServer((client) => {
    if (mode !== "forward") attempts += 1;
    if (mode === "cut") {
      client.destroy();
      return;
    }
    live.add(client);
    client.on("close", () => live.delete(client));
    client.on("error", () => {});
    if (mode === "blackhole") {
      client.on("data", (chunk: Buffer) => {
        swallowed += chunk.toString("latin1");
      });
      return;
    }
    const upstream = connect("path" in target ? { path: target.path } : target);
    live.add(upstream);
    upstream.on("close", () => {
      live.delete(upstream);
      client.destroy();
    });
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    // Bytes flow only while forwarding: a black-holed connection goes silent both ways.
    client.on("data", (chunk: Buffer) => {
      if (resetOn !== undefined && chunk.toString("latin1").includes(resetOn)) {
        resetOn = undefined;
        reset(client);
        upstream.destroy();
      } else if (mode === "forward") upstream.write(chunk);
      else swallowed += chunk.toString("latin1");
    });
    upstream.on("data", (chunk) => {
      if (mode === "forward") client.write(chunk);
    });
  });

  const socketPath = folder === undefined ? undefined : path.join(folder, "proxy.sock");
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (socketPath !== undefined) server.listen(socketPath, resolve);
    else server.listen(0, "127.0.0.1", resolve);
  });
  const tcpPort =
    socketPath === undefined ? (server.address() as { port: number }).port : undefined;

  return {
    address: socketPath === undefined ? `127.0.0.1:${tcpPort}` : `unix://${socketPath}`,
    port: tcpPort,
    cut() {
      mode = "cut";
      attempts = 0;
      for (const socket of live) reset(socket);
      live.clear();
    },
    blackhole() {
      mode = "blackhole";
      attempts = 0;
      swallowed = "";
    },
    restore() {
      // Bytes were swallowed on the connections that lived through a partition: end them.
      if (mode === "blackhole") for (const socket of live) socket.destroy();
      mode = "forward";
    },
    resetWhenClientSends(text) {
      resetOn = text;
    },
    attemptsWhileAway: () => attempts,
    swallowed: () => swallowed,
    get liveConnections() {
      return live.size;
    },
    async close() {
      for (const socket of live) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (folder !== undefined) await rm(folder, { recursive: true, force: true });
    },
  };
}

/** A TCP connection is reset (RST); a unix socket can only be closed. */
function reset(socket: Socket): void {
  if (socket.remoteAddress === undefined) socket.destroy();
  else socket.resetAndDestroy();
}
