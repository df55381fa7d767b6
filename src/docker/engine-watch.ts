import { EventEmitter } from "node:events";
import type { Logger } from "../logger.ts";
import { type DockerClient, explainDockerError } from "./connection.ts";

export type EngineState =
  | { readonly reachable: true; readonly version: string; readonly since: Date }
  | { readonly reachable: false; readonly error: string; readonly since: Date };

/**
 * Knows whether the Docker engine answers. Pings on a timer (fast while down, slow while up),
 * logs each transition once, and emits "up"/"down" so that watchers reconnect and resync.
 */
export class EngineWatch extends EventEmitter<{ up: []; down: [error: string] }> {
  #state: EngineState = { reachable: false, error: "not checked yet", since: new Date() };
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #checking: Promise<EngineState> | undefined;
  readonly #docker: DockerClient;
  readonly #dockerHost: string | undefined;
  readonly #logger: Logger;
  readonly #upIntervalMs: number;
  readonly #downIntervalMs: number;

  constructor(
    docker: DockerClient,
    dockerHost: string | undefined,
    logger: Logger,
    options: { upIntervalMs?: number; downIntervalMs?: number } = {},
  ) {
    super();
    // Every waiting worker listens for "up": a broadcast, not a leak.
    this.setMaxListeners(0);
    this.#docker = docker;
    this.#dockerHost = dockerHost;
    this.#logger = logger;
    this.#upIntervalMs = options.upIntervalMs ?? 15_000;
    this.#downIntervalMs = options.downIntervalMs ?? 2_000;
  }

  get state(): EngineState {
    return this.#state;
  }

  /** Checks now (checks asked for together share one ping); never throws. */
  check(): Promise<EngineState> {
    this.#checking ??= this.#ping().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Resolves at once while the engine answers; otherwise once it answers again (or `signal` aborts). */
  whenReachable(signal?: AbortSignal): Promise<void> {
    if (this.#state.reachable || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.off("up", done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.on("up", done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  async #ping(): Promise<EngineState> {
    try {
      const version = await withTimeout(this.#docker.version(), 5_000);
      if (!this.#state.reachable) {
        this.#state = { reachable: true, version: version.Version, since: new Date() };
        this.#logger.info(
          { version: version.Version, api: version.ApiVersion },
          "docker engine reachable",
        );
        this.emit("up");
      }
    } catch (error) {
      const explained = explainDockerError(error, this.#dockerHost);
      if (this.#state.reachable || this.#state.error === "not checked yet") {
        this.#state = { reachable: false, error: explained, since: new Date() };
        this.#logger.warn({ error: explained }, "docker engine unreachable");
        this.emit("down", explained);
      }
    }
    return this.#state;
  }

  start(): void {
    this.#stopped = false;
    const loop = async () => {
      await this.check();
      if (this.#stopped) return;
      const delay = this.#state.reachable ? this.#upIntervalMs : this.#downIntervalMs;
      this.#timer = setTimeout(loop, delay);
      this.#timer.unref();
    };
    void loop();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}

function withTimeout<T>(promise: Promise<T>, milliseconds: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), milliseconds);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
