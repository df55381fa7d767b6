import { dependencyOrder } from "./dependency-order.ts";
import { OrchestratorError } from "./errors.ts";
import { type EventStreamOptions, followEvents } from "./event-stream.ts";
import { followBuildLog, followLogLines } from "./log-streams.ts";
import { type ClientOptions, createTransport, type Transport } from "./transport.ts";
import type {
  AddedInstances,
  ApplyResult,
  AuditPage,
  AutoscaleView,
  BuildLogs,
  Claim,
  CreatedToken,
  EventPage,
  EventType,
  HealthHistory,
  Image,
  ImagePatchInput,
  ImageWithContainers,
  Instance,
  InstanceHealth,
  Items,
  MetricsSample,
  NewImageInput,
  OrchestratorEvent,
  Quota,
  Registry,
  ReleasedClaim,
  Revision,
  RolloutSwitch,
  Secret,
  ServerVersion,
  Token,
  User,
  Volume,
  WakeResult,
  Whoami,
} from "./types.ts";

/** The earlier library's event names, and `*` for every event. */
export type EventName =
  | "created"
  | "started"
  | "stopped"
  | "failed"
  | "healthy"
  | "unhealthy"
  | "draining"
  | "removed"
  | "metrics"
  | "*";

const eventTypesByName: Readonly<Record<Exclude<EventName, "*">, EventType | undefined>> = {
  created: "container.created",
  started: "container.started",
  stopped: "container.stopped",
  failed: "container.failed",
  healthy: "container.healthy",
  unhealthy: "container.unhealthy",
  draining: "container.draining",
  removed: "container.removed",
  // Resource samples: not events of the log (no type of their own there).
  metrics: undefined,
};

export type EventHandler = (event: OrchestratorEvent) => void;
export type MetricsHandler = (sample: MetricsSample) => void;

/** A condition to wait for: the image's `Ready` condition, or one of its statuses. */
export type WaitCondition = "Ready" | Image["status"];

export type WaitOptions = { readonly timeoutMs?: number; readonly signal?: AbortSignal };

/** A spec for `startMany`: a new image as sent to the API (a reference to run). */
export type ImageSpec = NewImageInput;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The typed client of the Orchestrator API: every route, with request and answer types derived
 * from the schemas that validate and document them. Refusals throw `OrchestratorError`.
 *
 * ```ts
 * const orchestrator = new Orchestrator({ url: "http://127.0.0.1:3003", token });
 * const images = await orchestrator.startMany([{ name: "db", image: "postgres:17" }]);
 * for await (const event of orchestrator.events({ image: images[0].id })) console.log(event.type);
 * ```
 */
export class Orchestrator {
  readonly #transport: Transport;
  readonly #handlers = new Map<EventName, Set<EventHandler>>();
  readonly #metricsHandlers = new Set<MetricsHandler>();
  #emitter: { readonly abort: AbortController; readonly metrics: boolean } | undefined;
  /** The last event the emitter delivered: a restarted emitter goes on after it. */
  #emitterSeq: number | undefined;
  /** What `startMany` started, in order, so that `stopAll` stops it in reverse. */
  #started: Array<{ readonly id: number; readonly name: string }> = [];

  constructor(options: ClientOptions) {
    this.#transport = createTransport(options);
  }

  get url(): string {
    return this.#transport.url;
  }

  /** Any route: the escape hatch for what has no method yet. */
  request<Body>(
    method: string,
    path: string,
    options?: Parameters<Transport["call"]>[2],
  ): Promise<Body> {
    return this.#transport.call<Body>(method, path, options);
  }

  /** The raw response of any route (streams, text). */
  send(method: string, path: string, options?: Parameters<Transport["send"]>[2]) {
    return this.#transport.send(method, path, options);
  }

  // Images

  readonly images = {
    list: (options: { user?: string } = {}) =>
      this.#get<Items<Image>>("/api/images", { user: options.user }).then((page) => page.items),
    listWithContainers: (options: { user?: string } = {}) =>
      this.#get<Items<ImageWithContainers>>("/api/images/with-containers", {
        user: options.user,
      }).then((page) => page.items),
    get: (id: number) => this.#get<Image>(`/api/images/${id}`),
    /** Finds one of your images by name (undefined when there is none). */
    find: async (name: string) => (await this.images.list()).find((image) => image.name === name),
    /** Registers an image that runs an existing reference. */
    create: (spec: NewImageInput, options: { user?: string } = {}) =>
      this.#transport.call<Image>("POST", "/api/images", {
        json: spec,
        query: { user: options.user },
      }),
    /** Uploads source (a .zip, .tar or .tar.gz with a Dockerfile) to build and run. */
    upload: (
      fields: { readonly name: string } & Readonly<Record<string, string | number | object>>,
      archive: Blob | Uint8Array,
      filename = "source.tar.gz",
    ) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) {
        form.append(name, typeof value === "object" ? JSON.stringify(value) : String(value));
      }
      const blob = archive instanceof Blob ? archive : new Blob([new Uint8Array(archive)]);
      form.append("file", blob, filename);
      return this.#transport.call<Image>("POST", "/api/images", { body: form });
    },
    update: (id: number, patch: ImagePatchInput) =>
      this.#transport.call<Image>("PATCH", `/api/images/${id}`, { json: patch }),
    delete: (id: number, options: { volumes?: boolean } = {}) =>
      this.#transport.call<Image>("DELETE", `/api/images/${id}`, {
        query: { volumes: options.volumes },
      }),
    rebuild: (id: number) => this.#transport.call<Image>("POST", `/api/images/${id}/rebuild`),
    buildLogs: (id: number) => this.#get<BuildLogs>(`/api/images/${id}/build-logs`),
    /** The image's kept revisions (the last 10), newest first. */
    revisions: (id: number) =>
      this.#get<Items<Revision>>(`/api/images/${id}/revisions`).then((page) => page.items),
    /** The image's autoscaler: its spec, the metric's latest value, its last decisions. */
    autoscale: (id: number) => this.#get<AutoscaleView>(`/api/images/${id}/autoscale`),
    /** An image scaled to zero (`autoscale.scale_to_zero_after`) wants one instance again. */
    wake: (id: number) => this.#transport.call<WakeResult>("POST", `/api/images/${id}/wake`),
    /**
     * Rolls the image back to a kept revision (the one before the current by default), as a new
     * revision; answers it.
     */
    rollback: (id: number, options: { revision?: number } = {}) =>
      this.#transport.call<Revision>("POST", `/api/images/${id}/rollback`, {
        json: options.revision === undefined ? {} : { revision: options.revision },
      }),
    /** Holds the image's rollout where it is (idempotent). */
    pauseRollout: (id: number) =>
      this.#transport.call<RolloutSwitch>("POST", `/api/images/${id}/rollout/pause`),
    /** Lets a held rollout go on (idempotent). */
    resumeRollout: (id: number) =>
      this.#transport.call<RolloutSwitch>("POST", `/api/images/${id}/rollout/resume`),
    /**
     * The build log as it is written, until the build ends: `log` (one line), `build` (a newer
     * build replaced the one followed), then `end` with the outcome.
     */
    followBuildLogs: (id: number, options: { signal?: AbortSignal } = {}) =>
      followBuildLog(this.#transport, id, options),
    containers: (id: number) =>
      this.#get<Items<Instance>>(`/api/images/${id}/containers`).then((page) => page.items),
  };

  // Containers (instances)

  readonly containers = {
    list: (options: { image?: number } = {}) =>
      this.#get<Items<Instance>>("/api/containers", { image_id: options.image }).then(
        (page) => page.items,
      ),
    get: (id: string) => this.#get<Instance>(`/api/containers/${id}`),
    /** Adds `count` instances to an image and answers them (ports come once they run). */
    add: (imageId: number, count = 1) =>
      this.#transport.call<AddedInstances>("POST", `/api/containers/${imageId}`, {
        json: { count },
      }),
    start: (id: string) => this.#transport.call<Instance>("POST", `/api/containers/${id}/start`),
    stop: (id: string) => this.#transport.call<Instance>("POST", `/api/containers/${id}/stop`),
    restart: (id: string) =>
      this.#transport.call<Instance>("POST", `/api/containers/${id}/restart`),
    delete: (id: string) => this.#transport.call<Instance>("DELETE", `/api/containers/${id}`),
    health: (id: string) => this.#get<InstanceHealth>(`/api/containers/${id}/health`),
    healthHistory: (id: string, options: { since?: string; limit?: number } = {}) =>
      this.#get<HealthHistory>(`/api/containers/${id}/health/history`, options),
    logs: (id: string, options: { tail?: number; since?: Date } = {}) =>
      this.#transport.call<string>("GET", `/api/containers/${id}/logs`, {
        query: { tail: options.tail, since: options.since?.toISOString() },
      }),
    /** An instance's output, line by line, as it is written (ends when the container does). */
    followLogs: (id: string, options: { tail?: number; since?: Date; signal?: AbortSignal } = {}) =>
      followLogLines(this.#transport, id, options),
    /** Removes an instance for good (a pool refills to its min_idle). */
    destroy: (id: string) =>
      this.#transport.call<Instance>("POST", `/api/containers/${id}/destroy`),
  };

  // Claims (warm pools)

  readonly claims = {
    /**
     * Claims a pooled instance of an image for `key` (the same key gets the same instance back
     * while its claim holds); waits up to `waitMs` for an idle one (503 `pool_exhausted`).
     */
    claim: (imageId: number, key: string, options: { waitMs?: number } = {}) =>
      this.#transport.call<Claim>("POST", `/api/images/${imageId}/claims`, {
        json: { key },
        query: { wait: options.waitMs === undefined ? undefined : `${options.waitMs}ms` },
      }),
    /** Your claims, or one image's, or one key's. */
    list: (options: { image?: number; key?: string } = {}) =>
      this.#get<Items<Claim>>("/api/claims", { image_id: options.image, key: options.key }).then(
        (page) => page.items,
      ),
    get: (claimId: string) => this.#get<Claim>(`/api/claims/${claimId}`),
    /** Moves the claim's expiry to now + `ttl` (`30m`, seconds; default the pool's). */
    renew: (claimId: string, ttl?: string | number) =>
      this.#transport.call<Claim>("POST", `/api/claims/${claimId}/renew`, {
        json: ttl === undefined ? {} : { ttl },
      }),
    release: (claimId: string) =>
      this.#transport.call<ReleasedClaim>("DELETE", `/api/claims/${claimId}`),
    /** Releases a key's claims on each of your images, or only `image`'s. */
    releaseKey: (key: string, options: { image?: number } = {}) =>
      this.#transport
        .call<Items<ReleasedClaim>>("DELETE", "/api/claims", {
          query: { key, image_id: options.image },
        })
        .then((page) => page.items),
  };

  /** Applies a set of documents in one transaction (`dryRun`: only the plan). */
  apply(
    set: string,
    documents: readonly (NewImageInput & { source_digest?: string })[],
    options: { dryRun?: boolean; prune?: boolean; allowEmpty?: boolean; user?: string } = {},
  ): Promise<ApplyResult> {
    return this.#transport.call<ApplyResult>("POST", "/api/apply", {
      json: { set, documents, ...(options.allowEmpty ? { allow_empty: true } : {}) },
      query: {
        dry_run: options.dryRun ? 1 : undefined,
        prune: options.prune ? 1 : undefined,
        user: options.user,
      },
    });
  }

  // Events

  /** A page of the event log. */
  eventLog(
    query: { image?: number; types?: readonly EventType[]; after?: number; limit?: number } = {},
  ): Promise<EventPage> {
    return this.#get<EventPage>("/api/events", {
      image_id: query.image,
      type: query.types?.join(","),
      after: query.after,
      limit: query.limit,
    });
  }

  /**
   * Events as they are written, as an async iterator (from now on, or after `options.after`):
   * reconnects with `Last-Event-ID`, so none is lost or repeated across a dropped connection
   * or a server restart. Break out of the loop, or abort `options.signal`, to stop.
   */
  events(
    options: EventStreamOptions & { metrics: true },
  ): AsyncGenerator<OrchestratorEvent | MetricsSample>;
  events(options?: EventStreamOptions): AsyncGenerator<OrchestratorEvent>;
  events(options: EventStreamOptions = {}): AsyncGenerator<OrchestratorEvent | MetricsSample> {
    return followEvents(this.#transport, options);
  }

  /**
   * Calls `handler` for each event of that name (`*`: every event of the log; `metrics`: each
   * resource sample as it is taken); returns the unsubscribe.
   */
  on(name: "metrics", handler: MetricsHandler): () => void;
  on(name: Exclude<EventName, "metrics">, handler: EventHandler): () => void;
  on(name: EventName, handler: EventHandler | MetricsHandler): () => void {
    if (name === "metrics") {
      this.#metricsHandlers.add(handler as MetricsHandler);
    } else {
      const handlers = this.#handlers.get(name) ?? new Set();
      handlers.add(handler as EventHandler);
      this.#handlers.set(name, handlers);
    }
    this.#startEmitter();
    return () => this.off(name, handler);
  }

  off(name: EventName, handler: EventHandler | MetricsHandler): void {
    if (name === "metrics") this.#metricsHandlers.delete(handler as MetricsHandler);
    else this.#handlers.get(name)?.delete(handler as EventHandler);
    const none =
      this.#metricsHandlers.size === 0 &&
      [...this.#handlers.values()].every((set) => set.size === 0);
    if (none) this.close();
  }

  /** Stops the emitter's stream (handlers stay registered until `off`). */
  close(): void {
    this.#emitter?.abort.abort();
    this.#emitter = undefined;
  }

  #startEmitter(): void {
    const metrics = this.#metricsHandlers.size > 0;
    if (this.#emitter !== undefined) {
      if (this.#emitter.metrics || !metrics) return;
      // The first metrics handler: the stream must ask for samples; events go on after the last.
      this.close();
    }
    const emitter = { abort: new AbortController(), metrics };
    this.#emitter = emitter;
    void (async () => {
      try {
        const stream = followEvents(this.#transport, {
          signal: emitter.abort.signal,
          metrics,
          ...(this.#emitterSeq === undefined ? {} : { after: this.#emitterSeq }),
        });
        for await (const item of stream) {
          if (item.type === "metrics") {
            for (const handler of this.#metricsHandlers) handler(item);
            continue;
          }
          this.#emitterSeq = item.seq;
          for (const [name, handlers] of this.#handlers) {
            const wanted = name === "*" || eventTypesByName[name] === item.type;
            if (!wanted) continue;
            for (const handler of handlers) handler(item);
          }
        }
      } catch {
        // A refused stream (the token was revoked): the emitter stops.
      } finally {
        if (this.#emitter === emitter) this.#emitter = undefined;
      }
    })();
  }

  // Accounts and the rest

  whoami = () => this.#get<Whoami>("/api/whoami");

  /** The server's versions (package, HTTP contract, Node). */
  version = () => this.#get<ServerVersion>("/api/version");

  readonly users = {
    create: (name: string) => this.#transport.call<User>("POST", "/api/users", { json: { name } }),
    list: () => this.#get<Items<User>>("/api/users").then((page) => page.items),
  };

  readonly tokens = {
    create: (
      request: { user?: string; name?: string; scope?: Token["scope"]; expires_in?: string } = {},
    ) => this.#transport.call<CreatedToken>("POST", "/api/tokens", { json: request }),
    list: (options: { user?: string } = {}) =>
      this.#get<Items<Token>>("/api/tokens", options).then((page) => page.items),
    revoke: (id: number) => this.#transport.call<void>("DELETE", `/api/tokens/${id}`),
  };

  readonly quota = {
    get: (options: { user?: string } = {}) => this.#get<Quota>("/api/quota", options),
    set: (
      user: string,
      overrides: Partial<Record<keyof Quota["limits"], string | number | null>>,
    ) => this.#transport.call<Quota>("PATCH", "/api/quota", { json: overrides, query: { user } }),
  };

  readonly secrets = {
    put: (name: string, value: string) =>
      this.#transport.call<Secret>("POST", "/api/secrets", { json: { name, value } }),
    list: () => this.#get<Items<Secret>>("/api/secrets").then((page) => page.items),
    delete: (name: string) =>
      this.#transport.call<void>("DELETE", `/api/secrets/${encodeURIComponent(name)}`),
  };

  readonly registries = {
    put: (server: string, username: string, password: string) =>
      this.#transport.call<Registry>("POST", "/api/registries", {
        json: { server, username, password },
      }),
    list: () => this.#get<Items<Registry>>("/api/registries").then((page) => page.items),
    delete: (server: string) =>
      this.#transport.call<void>("DELETE", `/api/registries/${encodeURIComponent(server)}`),
  };

  readonly volumes = {
    list: () => this.#get<Items<Volume>>("/api/volumes").then((page) => page.items),
    delete: (name: string) =>
      this.#transport.call<void>("DELETE", `/api/volumes/${encodeURIComponent(name)}`),
  };

  audit = (query: { user?: string; image_id?: number; after?: number; limit?: number } = {}) =>
    this.#get<AuditPage>("/api/audit", query);

  /** Whether the service is ready (its database and engine answer). */
  async isReady(): Promise<boolean> {
    try {
      const answer = await this.#transport.call<{ status: string }>("GET", "/readyz", {
        accept: [503],
      });
      return answer.status === "ready";
    } catch {
      return false;
    }
  }

  // Helpers of the earlier library

  /**
   * Waits until an image (id or name) is `Ready` (its Ready condition true for its current
   * generation) or has a status; fails at once on `build_failed` when waiting for more.
   */
  async waitFor(
    image: number | string,
    condition: WaitCondition = "Ready",
    options: WaitOptions = {},
  ) {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    for (;;) {
      const current =
        typeof image === "number" ? await this.images.get(image) : await this.images.find(image);
      if (current !== undefined) {
        if (condition === "Ready" ? isReady(current) : current.status === condition) return current;
        if (current.status === "build_failed" && condition !== "build_failed") {
          throw new OrchestratorError(0, "unexpected", `image ${current.name}: build failed`);
        }
      }
      if (options.signal?.aborted) throw options.signal.reason;
      if (Date.now() > deadline) {
        throw new OrchestratorError(
          0,
          "unexpected",
          `image ${image} not ${condition} after ${options.timeoutMs ?? 300_000} ms: ${JSON.stringify(current?.conditions ?? null)}`,
        );
      }
      await sleep(250);
    }
  }

  /**
   * Starts a set of images (existing references): applies them as one set (`set`, default
   * `client`), then waits for each to be Ready in dependency order (what an image depends on
   * first). Answers the images in that order; `stopAll` stops them in reverse.
   */
  async startMany(
    specs: readonly ImageSpec[],
    options: WaitOptions & { set?: string } = {},
  ): Promise<Image[]> {
    const ordered = dependencyOrder(specs);
    await this.apply(options.set ?? "client", ordered);
    const images: Image[] = [];
    for (const spec of ordered) {
      const image = await this.waitFor(spec.name, "Ready", options);
      images.push(image);
      if (!this.#started.some((started) => started.id === image.id)) {
        this.#started.push({ id: image.id, name: image.name });
      }
    }
    return images;
  }

  /**
   * Stops what `startMany` started (or, when it started nothing, every image of yours), in
   * reverse dependency order: each scales to zero and its containers have stopped before the
   * next. The images stay (`images.delete` removes them).
   */
  async stopAll(options: WaitOptions = {}): Promise<void> {
    const targets =
      this.#started.length > 0
        ? [...this.#started].reverse()
        : dependencyOrder(
            (await this.images.list())
              .filter((image) => image.status !== "deleting")
              .map((image) => ({
                ...image,
                depends_on: image.depends_on.map((dependency) => dependency.name),
              })),
          ).reverse();
    for (const target of targets) {
      try {
        await this.images.update(target.id, { min_instances: 0, desired_instances: 0 });
      } catch (error) {
        if (error instanceof OrchestratorError && error.status === 404) continue;
        throw error;
      }
      const deadline = Date.now() + (options.timeoutMs ?? 120_000);
      while ((await this.images.containers(target.id)).length > 0) {
        if (Date.now() > deadline) {
          throw new OrchestratorError(0, "unexpected", `image ${target.name} did not stop`);
        }
        await sleep(250);
      }
    }
    this.#started = [];
  }

  /** Whether an instance (or its id) runs and passes its health check (when it has one). */
  async isHealthy(instance: Instance | string): Promise<boolean> {
    const current = typeof instance === "string" ? await this.containers.get(instance) : instance;
    return current.observed_state === "running" && current.health !== "unhealthy";
  }

  #get<Body>(path: string, query: Readonly<Record<string, string | number | undefined>> = {}) {
    return this.#transport.call<Body>("GET", path, { query });
  }
}

/** The image's Ready condition is true for the spec it has now. */
export function isReady(image: Image): boolean {
  return (
    image.observed_generation >= image.generation &&
    image.conditions.some((condition) => condition.type === "Ready" && condition.status === "True")
  );
}
