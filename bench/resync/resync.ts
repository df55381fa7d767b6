/**
 * Steady-state resync: 5,000 images (200 of them running one container each) that are all
 * converged. Times one full resync (one Docker list, images and instances read in pages) and
 * counts its database round trips per image and Docker writes, against the naive pass that
 * reconciles every image in turn, in the same run. Goal: no Docker writes, O(1) queries per page.
 * Run: `node bench/resync/resync.ts` (BENCH_IMAGES, BENCH_RUNNING change the sizes).
 */
import type { KyselyPlugin } from "kysely";
import pMap from "p-map";
import { loadConfig } from "../../src/config.ts";
import { findKeysNeedingWork } from "../../src/controller/sources/resync.ts";
import { createImageService } from "../../src/desired/image-service.ts";
import { connectDocker } from "../../src/docker/connection.ts";
import { type ContainerRuntime, createContainerRuntime } from "../../src/docker/runtime.ts";
import { newImageSchema } from "../../src/domain/image-spec.ts";
import { createLogger } from "../../src/logger.ts";
import { createImageReconciler } from "../../src/reconcilers/image/reconciler.ts";
import { createImageResolver } from "../../src/reconcilers/image/resolve-image.ts";
import { withQueryPlugin } from "../../src/store/database.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import { startTestServer } from "../../test/support/test-server.ts";
import { report, seconds, until } from "../support.ts";

const imageCount = Number(process.env.BENCH_IMAGES ?? 5_000);
const runningCount = Number(process.env.BENCH_RUNNING ?? 200);
const docker = connectDocker(process.env.DOCKER_HOST);

function queryCounter() {
  let queries = 0;
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      queries += 1;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return { plugin, count: () => queries };
}

function countingRuntime(runtime: ContainerRuntime) {
  const counts = { reads: 0, writes: 0 };
  const reads = new Set(["listManaged", "inspect", "describeImage"]);
  const wrapped = Object.fromEntries(
    Object.entries(runtime).map(([name, call]) => [
      name,
      (...args: unknown[]) => {
        if (reads.has(name)) counts.reads += 1;
        else counts.writes += 1;
        return (call as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  ) as ContainerRuntime;
  return { runtime: wrapped, counts };
}

export async function main() {
  await ensureBaseImage(docker);
  await ensureTestImages(docker);
  const server = await startTestServer({ env: { LOG_LEVEL: "warn", MAX_INSTANCES_CAP: "10" } });
  try {
    const store = server.service.store;
    const db = store.db;
    // User 1 is the admin user: no quota (as the service sets it up).
    const quota = { defaults: loadConfig({}).quota, unlimitedUsers: new Set([1]) };
    const images = createImageService(store, {
      maxInstancesCap: 10,
      orchestratorId: "bench",
      builtImagePrefix: "bench",
      adminUserId: 1,
      quota,
    });
    const actor = { userId: 1, name: "admin", tokenId: null, tokenName: "bench" };
    const schema = newImageSchema(10);
    const seedStarted = performance.now();
    for (let index = 0; index < imageCount; index += 1) {
      const input = schema.parse({
        name: `app-${index}`,
        image: testImages.httpd,
        desired_instances: index < runningCount ? 1 : 0,
        cpu_limit: "0.05",
        memory_limit: "8m",
      });
      await images.create(1, actor, { ...input, source_type: "reference" }, "pending");
    }
    process.stdout.write(
      `[resync] seeded ${imageCount} images in ${seconds(performance.now() - seedStarted)}; converging…\n`,
    );
    await until(
      async () => {
        const notReady = await db
          .selectFrom("images")
          .select((eb) => eb.fn.countAll<number>().as("count"))
          .where((eb) =>
            eb.or([
              eb("observed_generation", "<", eb.ref("generation")),
              eb("status", "!=", "ready"),
            ]),
          )
          .executeTakeFirstOrThrow();
        const running = await db
          .selectFrom("instances")
          .select((eb) => eb.fn.countAll<number>().as("count"))
          .where("observed_state", "=", "running")
          .executeTakeFirstOrThrow();
        return Number(notReady.count) === 0 && Number(running.count) === runningCount;
      },
      900_000,
      "steady state",
    );
    await server.service.controller.current()?.idle();

    const orchestratorId = server.orchestratorId;
    const runtime = createContainerRuntime(docker);

    // Ours: one batched pass that only finds the keys needing work.
    const oursQueries = queryCounter();
    const oursDocker = countingRuntime(runtime);
    const oursStarted = performance.now();
    const result = await findKeysNeedingWork({
      store: withQueryPlugin(store, oursQueries.plugin),
      runtime: oursDocker.runtime,
      orchestratorId,
      builtImagePrefix: "bench",
    });
    const oursMs = performance.now() - oursStarted;

    // Baseline: reconcile every image, one after another (4 at a time).
    const naiveQueries = queryCounter();
    const naiveDocker = countingRuntime(runtime);
    const logger = createLogger("silent");
    const reconciler = createImageReconciler({
      store: withQueryPlugin(store, naiveQueries.plugin),
      runtime: naiveDocker.runtime,
      logger,
      settings: {
        orchestratorId,
        advertiseHost: "127.0.0.1",
        publishIp: "0.0.0.0",
        builtImagePrefix: "bench",
        stopTimeoutSeconds: 1,
        actionConcurrency: 4,
        pidsLimit: 512,
        openFilesLimit: 4096,
        diskLimit: undefined,
        adminUserId: 1,
        bindMountAllowlist: [],
      },
      resolveImage: createImageResolver(naiveDocker.runtime, logger, {
        orchestratorId,
        builtImagePrefix: "bench",
        allowedLocalImages: [],
        adminUserId: 1,
      }),
    });
    const ids = (await db.selectFrom("images").select("id").execute()).map((row) => row.id);
    const naiveStarted = performance.now();
    await pMap(ids, (id) => reconciler.reconcile(id), { concurrency: 4 });
    const naiveMs = performance.now() - naiveStarted;

    report("resync", {
      images: result.images,
      containers: result.containers,
      keys_needing_work: result.keys.length,
      resync: seconds(oursMs),
      queries_per_image: (oursQueries.count() / imageCount).toFixed(4),
      queries_total: oursQueries.count(),
      docker_reads: oursDocker.counts.reads,
      docker_writes: oursDocker.counts.writes,
      naive_reconcile_all: seconds(naiveMs),
      naive_queries_per_image: (naiveQueries.count() / imageCount).toFixed(2),
      naive_docker_reads: naiveDocker.counts.reads,
      naive_docker_writes: naiveDocker.counts.writes,
      ratio: `${(oursMs / naiveMs).toFixed(3)}x`,
    });
    return { result, oursMs, naiveMs };
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await main();
