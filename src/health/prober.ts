import pMap from "p-map";
import type { ContainerRuntime } from "../docker/runtime.ts";
import { parseDuration } from "../domain/duration.ts";
import { containerEvent } from "../domain/event-builders.ts";
import { runnableReference } from "../domain/names.ts";
import type { Logger } from "../logger.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord, InstanceRecord, ObservedPatch } from "../store/records.ts";
import type { ProbeResult } from "../store/schema.ts";
import { probeTransition } from "./probe-transition.ts";

export type ProberOptions = {
  readonly store: Store;
  readonly runtime: ContainerRuntime;
  readonly logger: Logger;
  /** Where published ports answer, seen from this process. */
  readonly probeHost: string;
  readonly advertiseHost: string;
  /** The prefix of built tags: events name what an image's containers run. */
  readonly builtImagePrefix: string;
  readonly tickMs?: number;
  readonly concurrency?: number;
};

const ms = (value: string, fallback: number) => {
  const parsed = parseDuration(value);
  return parsed.ok ? parsed.value : fallback;
};

/** GET http://host:port/path: 2xx and 3xx are healthy; anything else, or no answer in time, is not. */
export async function httpProbe(
  host: string,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const started = performance.now();
  const at = new Date().toISOString();
  try {
    const response = await fetch(`http://${host}:${port}${path}`, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    await response.body?.cancel();
    const latency = Math.round(performance.now() - started);
    const ok = response.status >= 200 && response.status < 400;
    return {
      ok,
      at,
      kind: "http",
      status_code: response.status,
      latency_ms: latency,
      ...(ok ? {} : { error: `GET ${path} answered ${response.status}` }),
    };
  } catch (error) {
    const timedOut = (error as Error).name === "TimeoutError";
    return {
      ok: false,
      at,
      kind: "http",
      latency_ms: Math.round(performance.now() - started),
      error: timedOut
        ? `GET ${path} timed out after ${timeoutMs} ms`
        : `GET ${path} failed: ${(error as Error).cause ?? (error as Error).message}`,
    };
  }
}

/**
 * Probes every running instance of every image that has a health check, each on its own
 * interval, from outside the container (HTTP against the host port) or by reading Docker's own
 * HEALTHCHECK verdict. Transitions are written with their event, and the image is notified so
 * that the controller replaces unhealthy instances.
 */
export function startProber(options: ProberOptions): { stop(): void } {
  const lastProbe = new Map<string, number>();
  const inFlight = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  /**
   * A running instance whose published port is not on record: the engine is asked (inspect is
   * consistent), and the port found is probed and recorded with the result. Without this, the
   * instance would not be probed until a later pass of its image happened to record the port,
   * and with nothing else waking the image it stayed "unknown", its image not Ready, for up to
   * the 5-minute resync (test/health/probes.test.ts). undefined: the engine knows no published
   * port for it either.
   */
  async function portFromEngine(
    image: ImageRecord,
    instance: InstanceRecord,
  ): Promise<{ hostPort: number; learnt: ObservedPatch } | undefined> {
    const container =
      instance.container_id === null
        ? undefined
        : await options.runtime.inspect(instance.container_id);
    const hostPort = container?.ports[`${image.container_port}/tcp`];
    if (container?.state !== "running" || hostPort === undefined) {
      options.logger.debug({ instanceId: instance.id }, "no published port to probe yet");
      return undefined;
    }
    options.logger.info(
      { imageId: image.id, instanceId: instance.id, hostPort },
      "published port learnt from the engine for a probe",
    );
    return { hostPort, learnt: { host_port: hostPort, host_ports: { ...container.ports } } };
  }

  async function probeOne(image: ImageRecord, instance: InstanceRecord): Promise<void> {
    const check = image.health_check;
    if (check === null || instance.container_id === null) return;
    const now = new Date();
    const inStartPeriod =
      instance.started_at !== null &&
      now.getTime() - instance.started_at.getTime() < ms(check.start_period, 0);
    let result: ProbeResult;
    let dockerVerdict = false;
    let learnt: ObservedPatch = {};
    if (check.http_path !== undefined) {
      const known = instance.host_port;
      const found = known === null ? await portFromEngine(image, instance) : undefined;
      const hostPort = known ?? found?.hostPort;
      if (hostPort === undefined) return;
      learnt = found?.learnt ?? {};
      // A Swarm task on another node answers at that node's address (instances.host).
      result = await httpProbe(
        instance.host ?? options.probeHost,
        hostPort,
        check.http_path,
        ms(check.timeout, 3_000),
      );
    } else {
      const inspected = await options.runtime.inspect(instance.container_id);
      const verdict = inspected?.details?.health;
      if (verdict === undefined || verdict === "starting") return;
      dockerVerdict = verdict === "unhealthy";
      result = {
        ok: verdict === "healthy",
        at: now.toISOString(),
        kind: "docker",
        ...(verdict === "healthy" ? {} : { error: "Docker HEALTHCHECK reports unhealthy" }),
      };
    }
    const transition = probeTransition(instance, result, check, {
      inStartPeriod,
      now,
      dockerVerdict,
    });
    await options.store.transaction(async (tx) => {
      // Only if the instance still runs the container that was probed.
      if ((await tx.instances.containerIdOf(instance.id)) !== instance.container_id) return;
      await tx.instances.patchObserved(instance.id, { ...learnt, ...transition.patch });
      if (transition.event !== undefined) {
        const updated = { ...instance, ...transition.patch };
        await tx.events.append([
          containerEvent(
            image,
            updated,
            instance.container_id,
            { type: transition.event, reason: result.error ?? "probe_passed" },
            {
              advertiseHost: instance.host ?? options.advertiseHost,
              reference: runnableReference(image, options.builtImagePrefix),
            },
          ),
        ]);
        await tx.images.notifyChanged(image.id);
      }
    });
    if (transition.event !== undefined) {
      options.logger.info(
        {
          imageId: image.id,
          instanceId: instance.id,
          event: transition.event,
          error: result.error,
        },
        "health changed",
      );
    }
  }

  // Whether any image has a health check at all, looked up every few seconds: an idle fleet
  // without checks costs one small query per 5 s, not a join per second.
  let probedImagesKnownAt = 0;
  let anyProbedImage = true;

  async function tick(): Promise<void> {
    if (Date.now() - probedImagesKnownAt >= 5_000) {
      anyProbedImage = await options.store.images.anyWithHealthCheck();
      probedImagesKnownAt = Date.now();
    }
    if (!anyProbedImage) return;
    const rows = await options.store.instances.listProbeCandidates();
    const now = Date.now();
    const due = rows.filter((row) => {
      const interval = ms(row.image_health_check?.interval ?? "10s", 10_000);
      return !inFlight.has(row.id) && now - (lastProbe.get(row.id) ?? 0) >= interval;
    });
    const imageIds = [...new Set(due.map((row) => row.image_id))];
    const images = await options.store.images.listByIds(imageIds);
    const byId = new Map(images.map((image) => [image.id, image]));
    for (const row of due) {
      lastProbe.set(row.id, now);
      inFlight.add(row.id);
    }
    const live = new Set(rows.map((row) => row.id));
    for (const id of lastProbe.keys()) if (!live.has(id)) lastProbe.delete(id);
    // Not awaited: a probe waiting for its timeout must not delay the others' next tick.
    void pMap(
      due,
      async (row) => {
        const { image_health_check: _, ...instance } = row;
        const image = byId.get(row.image_id);
        try {
          if (image !== undefined) await probeOne(image, instance as InstanceRecord);
        } catch (error) {
          options.logger.warn({ instanceId: row.id, err: error }, "health probe failed to run");
        } finally {
          inFlight.delete(row.id);
        }
      },
      { concurrency: options.concurrency ?? 8 },
    );
  }

  const loop = () => {
    if (stopped) return;
    void tick()
      .catch((error: unknown) => options.logger.warn({ err: error }, "health prober tick failed"))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(loop, options.tickMs ?? 1_000);
        timer.unref();
      });
  };
  loop();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
