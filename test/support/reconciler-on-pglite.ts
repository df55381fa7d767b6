import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createContainerRuntime } from "../../src/docker/runtime.ts";
import { createLogger } from "../../src/logger.ts";
import type { ReconcilerDependencies } from "../../src/reconcilers/image/dependencies.ts";
import { createImageReconciler } from "../../src/reconcilers/image/reconciler.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import type { ImageRecord } from "../../src/store/records.ts";
import type { UserRecord } from "../../src/store/users-repository.ts";
import { docker } from "./docker-helpers.ts";
import { testOrchestratorId } from "./run-id.ts";
import { seedImage } from "./seed-image.ts";
import { testImages } from "./test-images.ts";
import { removeManagedContainers } from "./test-server.ts";

/**
 * A suite that drives the image reconciler itself, pass by pass, on the real engine and a
 * PGlite store of its own (no service, no controller loop): `store()` once the suite started;
 * afterwards the store is closed and the containers of `orchestratorId` removed.
 */
export function useReconcilerStore(name: string): {
  readonly orchestratorId: string;
  store(): Store;
  /** Alice, and her image "web" of the httpd test image at one instance, with this `min_ready`. */
  seedWeb(minReady: string): Promise<{ owner: UserRecord; image: ImageRecord }>;
} {
  const orchestratorId = testOrchestratorId(name);
  let dataDir: string | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), `orch-${name}-`));
    store = await openStore({ kind: "pglite", dataDir: path.join(dataDir, "pglite") });
  });
  afterAll(async () => {
    await store?.close();
    await removeManagedContainers(orchestratorId);
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });
  const opened = () => {
    if (store === undefined) throw new Error("the suite's store is opened in its beforeAll");
    return store;
  };
  return {
    orchestratorId,
    store: opened,
    seedWeb: async (minReady) => {
      const owner = await opened().users.create("alice");
      const image = await seedImage(
        opened(),
        owner,
        {
          name: "web",
          image: testImages.httpd,
          desired_instances: 1,
          rollout: { min_ready: minReady },
        },
        { sourceType: "reference", builtImagePrefix: orchestratorId },
      );
      return { owner, image };
    },
  };
}

/**
 * The image reconciler as the controller makes it, for images of the httpd test image (resolved
 * to the engine's copy), with the test's own runtime or clock where it gives one.
 */
export async function httpdReconciler(
  store: Store,
  orchestratorId: string,
  adminUserId: number,
  overrides: Partial<Pick<ReconcilerDependencies, "runtime" | "now">> = {},
): Promise<ReturnType<typeof createImageReconciler>> {
  const dockerImageId = (await docker.getImage(testImages.httpd).inspect()).Id;
  return createImageReconciler({
    store,
    runtime: overrides.runtime ?? createContainerRuntime(docker),
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
      adminUserId,
      bindMountAllowlist: [],
    },
    resolveImage: async () => ({ ok: true, reference: testImages.httpd, dockerImageId }),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
}
