import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContainerRuntime } from "../../src/docker/runtime.ts";
import { createLogger } from "../../src/logger.ts";
import { createImageReconciler } from "../../src/reconcilers/image/reconciler.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import { docker, managedContainers } from "../support/docker-helpers.ts";
import { testOrchestratorId } from "../support/run-id.ts";
import { seedImage } from "../support/seed-image.ts";
import { hasDocker } from "../support/services.ts";
import { testImages } from "../support/test-images.ts";
import { removeManagedContainers } from "../support/test-server.ts";

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
  const orchestratorId = testOrchestratorId("ready-listed");
  let dataDir: string;
  let store: Store;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "orch-ready-listed-"));
    store = await openStore({ kind: "pglite", dataDir: path.join(dataDir, "pglite") });
  });
  afterAll(async () => {
    await store?.close();
    await removeManagedContainers(orchestratorId);
    await rm(dataDir, { recursive: true, force: true });
  });

  it("does not count a container as ready for the time the pass took after listing it", async () => {
    const owner = await store.users.create("alice");
    const image = await seedImage(
      store,
      owner,
      { name: "web", image: testImages.httpd, desired_instances: 1, rollout: { min_ready: "1m" } },
      { sourceType: "reference", builtImagePrefix: orchestratorId },
    );
    const dockerImageId = (await docker.getImage(testImages.httpd).inspect()).Id;
    let clock = () => new Date();
    const reconciler = createImageReconciler({
      store,
      runtime: createContainerRuntime(docker),
      logger: createLogger(process.env.TEST_LOG_LEVEL ?? "silent"),
      settings: {
        orchestratorId,
        advertiseHost: "127.0.0.1",
        publishIp: "127.0.0.1",
        builtImagePrefix: orchestratorId,
        stopTimeoutSeconds: 1,
        actionConcurrency: 4,
        pidsLimit: 512,
        openFilesLimit: 1024,
        diskLimit: undefined,
        adminUserId: owner.id,
        bindMountAllowlist: [],
      },
      resolveImage: async () => ({ ok: true, reference: testImages.httpd, dockerImageId }),
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
