import { describe, expect, it } from "vitest";
import { managedContainers } from "../support/docker-helpers.ts";
import { httpdReconciler, useReconcilerStore } from "../support/reconciler-on-pglite.ts";
import { hasDocker } from "../support/services.ts";

/**
 * An instance counts as ready once it was seen up `min_ready` after it started: reckoned at
 * the moment its container was listed, not when the pass ends. A pass that took long (a busy
 * engine or database) counted a container seen running at its start, and dead a moment later,
 * as having run the whole pass: a crash-looping dependency was Ready for a moment, and its
 * dependents started (a CI failure of test/core/networks-dependencies.test.ts). Here the
 * reconciler runs on the real engine with a clock that jumps two minutes once the pass has
 * listed the containers: a pass that took that long.
 */
describe.runIf(hasDocker())("readiness, reckoned as of the list", () => {
  const suite = useReconcilerStore("ready-listed");

  it("does not count a container as ready for the time the pass took after listing it", async () => {
    const { orchestratorId } = suite;
    const store = suite.store();
    const { owner, image } = await suite.seedWeb("1m");
    let clock = () => new Date();
    const reconciler = await httpdReconciler(store, orchestratorId, owner.id, {
      now: () => clock(),
    });
    const ready = async () =>
      (await store.images.find(image.id))?.conditions.find((c) => c.type === "Ready")?.status;

    // The first pass creates and starts the instance: running, far from a minute old.
    await reconciler.reconcile(image.id);
    const running = await managedContainers(orchestratorId);
    expect(running.map((container) => container.State)).toEqual(["running"]);
    expect(await ready()).toBe("False");

    // The next pass lists the container, then takes two minutes (as the clock says).
    const listedAt = Date.now();
    clock = () => {
      clock = () => new Date(listedAt + 120_000);
      return new Date(listedAt);
    };
    await reconciler.reconcile(image.id);
    expect(await ready()).toBe("False");

    // Listed two minutes after it started (as the clock says): up a minute, so ready.
    clock = () => new Date(listedAt + 120_000);
    await reconciler.reconcile(image.id);
    expect(await ready()).toBe("True");
  }, 120_000);
});
