import { DesiredStateError } from "../desired/errors.ts";
import { commitImageChange, type WriteSettings } from "../desired/image-writes.ts";
import type { Actor } from "../domain/actor.ts";
import {
  type AutoscaleDecision,
  decideScale,
  pruneHistory,
  type Recommendation,
} from "../domain/autoscale.ts";
import { autoscaleSpecOf, scaleToZeroAfterMs } from "../domain/autoscale-spec.ts";
import { withOptionDefaults } from "../domain/container-options.ts";
import { decideIdle } from "../domain/scale-to-zero.ts";
import type { Logger } from "../logger.ts";
import type { Store } from "../store/database.ts";
import type { ImageRecord } from "../store/records.ts";
import type { AutoscalerMetrics } from "./autoscaler-metrics.ts";
import { samplesOf, scalingInstances } from "./measure.ts";
import type { RequestRates } from "./router-rates.ts";

/** Who writes the autoscaler's counts, in the audit log. */
export const autoscalerActor: Actor = {
  userId: null,
  name: "autoscaler",
  tokenId: null,
  tokenName: null,
};

export type AutoscalerOptions = {
  /** Reads (samples, instances, the list of autoscaled images). */
  readonly store: Store;
  /** Writes of desired_instances: the leadership term's fenced store. */
  readonly writeStore: Store;
  readonly logger: Logger;
  readonly intervalMs: number;
  /** How old a health sample may be and still count (a few monitor intervals). */
  readonly sampleMaxAgeMs: number;
  readonly settings: WriteSettings;
  /** The router's request rates (ROUTER_METRICS_URL); unset: requests_per_second has no samples. */
  readonly requestRates?: RequestRates | undefined;
  readonly metrics?: AutoscalerMetrics | undefined;
  readonly now?: () => number;
};

export type Autoscaler = {
  /** Looks at every autoscaled image once, now. */
  evaluateAll(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * The leader's autoscaler: every interval, for each image with `autoscale`, the recent samples
 * of its running instances go to the pure decision (domain/autoscale.ts), whose result is kept
 * as the image's status (autoscale_status) and, when the count moves, written as desired state
 * through the same path as an API write, with its `image.scaled` event, in one transaction.
 * The recommendations of the stabilization window are kept in memory for this leadership term,
 * as Kubernetes' HPA keeps them; a new leader counts the current count as recommended when it
 * first looks, so it scales down no sooner than one window after taking over.
 */
export function startAutoscaler(options: AutoscalerOptions): Autoscaler {
  const now = options.now ?? Date.now;
  const log = options.logger.child({ component: "autoscaler" });
  const histories = new Map<number, Recommendation[]>();
  /** Since when each scale-to-zero image has had no request (this term's look; none: busy). */
  const idleSince = new Map<number, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inProgress: Promise<unknown> = Promise.resolve();

  async function write(
    image: ImageRecord,
    decision: AutoscaleDecision,
    metric: string,
    target: number,
  ) {
    return options.writeStore.transaction(async (tx) => {
      const locked = await tx.images.findForUpdate(image.id);
      // Decided on what was read: anything moved since (a write, new bounds) waits for the next look.
      if (
        locked === undefined ||
        locked.status === "deleting" ||
        locked.desired_instances !== image.desired_instances ||
        locked.min_instances !== image.min_instances ||
        locked.max_instances !== image.max_instances ||
        withOptionDefaults(locked.container_options).autoscale === null
      ) {
        return undefined;
      }
      return commitImageChange(
        tx,
        locked,
        {
          columns: { desired_instances: decision.desired },
          bumpGeneration: true,
          reason: decision.reason,
          action: "autoscale.scale",
          actor: autoscalerActor,
          autoscaler: {
            metric,
            value: decision.value === null ? null : Math.round(decision.value * 100) / 100,
            target,
          },
        },
        options.settings,
      );
    });
  }

  /**
   * The decision for one image: HPA's (domain/autoscale.ts), and with scale_to_zero_after the
   * idle rule first (domain/scale-to-zero.ts). Such an image scales between 1 and max by load,
   * goes to 0 only when idle, and stays there until woken (POST /api/images/{id}/wake).
   */
  function scaleDecision(
    image: ImageRecord,
    spec: ReturnType<typeof autoscaleSpecOf>,
    samples: readonly (number | undefined)[],
    history: readonly Recommendation[],
    at: number,
    zeroAfterMs: number | undefined,
  ): AutoscaleDecision {
    const hpa = (minInstances: number) =>
      decideScale({
        spec,
        minInstances,
        maxInstances: image.max_instances,
        current: image.desired_instances,
        samples,
        history,
        now: at,
      });
    if (zeroAfterMs === undefined) return hpa(image.min_instances);
    const rate = options.requestRates?.rateOf(image.app_hostname);
    const idle = decideIdle({
      scaleToZeroAfterMs: zeroAfterMs,
      current: image.desired_instances,
      rate,
      idleSince: idleSince.get(image.id),
      now: at,
    });
    if (idle.idleSince === undefined) idleSince.delete(image.id);
    else idleSince.set(image.id, idle.idleSince);
    if (image.desired_instances === 0) {
      return { desired: 0, reason: "scaled_to_zero", value: rate ?? null, recommendation: 0 };
    }
    if (idle.toZero) return { desired: 0, reason: "idle", value: 0, recommendation: 0 };
    return hpa(Math.max(1, image.min_instances));
  }

  async function evaluate(image: ImageRecord): Promise<void> {
    const autoscale = withOptionDefaults(image.container_options).autoscale;
    if (autoscale === null) return;
    const spec = autoscaleSpecOf(autoscale);
    const at = now();
    const instances = scalingInstances(await options.store.instances.listOfImage(image.id));
    const snapshots =
      spec.metric === "requests_per_second"
        ? []
        : await options.store.healthSnapshots.latestOfImage(
            image.id,
            new Date(at - options.sampleMaxAgeMs),
          );
    const samples = samplesOf(
      spec.metric,
      instances,
      snapshots,
      options.requestRates?.rateOf(image.app_hostname),
    );
    // First seen this term: the count as it is stands for the window before (no scale-down
    // right after a failover on a recommendation history the new leader never saw).
    const seen = histories.get(image.id) ?? [{ at, instances: image.desired_instances }];
    const history = pruneHistory(seen, at, spec.scaleDownStabilizationMs);
    const decision = scaleDecision(
      image,
      spec,
      samples,
      history,
      at,
      scaleToZeroAfterMs(autoscale),
    );
    histories.set(image.id, [...history, { at, instances: decision.recommendation }]);
    let reason: string = decision.reason;
    let desired = decision.desired;
    if (decision.desired !== image.desired_instances) {
      try {
        const written = await write(image, decision, spec.metric, spec.target);
        if (written === undefined) {
          reason = "changed_meanwhile";
          desired = image.desired_instances;
        } else {
          options.metrics?.scaled.inc({
            direction: decision.desired > image.desired_instances ? "up" : "down",
          });
          log.info(
            {
              imageId: image.id,
              metric: spec.metric,
              value: decision.value,
              target: spec.target,
              from: image.desired_instances,
              to: decision.desired,
              reason: decision.reason,
            },
            "image autoscaled",
          );
        }
      } catch (error) {
        if (!(error instanceof DesiredStateError)) throw error;
        // A quota refusal, for instance: the count stays, the status says why.
        reason = error.code;
        desired = image.desired_instances;
        log.warn({ imageId: image.id, err: error }, "autoscaler write refused");
      }
    }
    options.metrics?.evaluations.inc({ reason });
    await options.store.autoscaleStatus.record({
      image_id: image.id,
      evaluated_at: new Date(at),
      metric: spec.metric,
      value: decision.value,
      target: spec.target,
      desired_instances: desired,
      recommendation: decision.recommendation,
      reason,
      instances: samples.length,
      missing: samples.filter((sample) => sample === undefined).length,
    });
  }

  async function evaluateAll(): Promise<void> {
    const images = await options.store.images.listAutoscaled();
    const live = new Set(images.map((image) => image.id));
    for (const id of histories.keys()) if (!live.has(id)) histories.delete(id);
    for (const id of idleSince.keys()) if (!live.has(id)) idleSince.delete(id);
    if (images.length === 0) return;
    if (
      options.requestRates !== undefined &&
      images.some(
        (image) =>
          withOptionDefaults(image.container_options).autoscale?.metric === "requests_per_second",
      )
    ) {
      await options.requestRates.refresh();
    }
    for (const image of images) {
      if (stopped) return;
      try {
        await evaluate(image);
      } catch (error) {
        log.warn({ imageId: image.id, err: error }, "autoscaler evaluation failed");
      }
    }
  }

  const loop = () => {
    if (stopped) return;
    const started = now();
    inProgress = evaluateAll()
      .catch((error: unknown) => log.warn({ err: error }, "autoscaler round failed"))
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(loop, Math.max(0, options.intervalMs - (now() - started)));
        timer.unref();
      });
  };
  timer = setTimeout(loop, options.intervalMs);
  timer.unref();

  return {
    evaluateAll,
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await inProgress;
    },
  };
}
