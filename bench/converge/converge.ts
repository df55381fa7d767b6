/**
 * Scale-up speed: one image from 0 to 50 instances through the API until all 50 answer HTTP on
 * their host ports, against raw dockerode creating and starting the same 50 at concurrency 4,
 * in the same run (baseline, ours, baseline; ratio against the mean baseline). Goal ≤ 1.3×.
 * Run: `node bench/converge/converge.ts` (BENCH_INSTANCES changes the count).
 *
 * `--runtime swarm` (`npm run bench -- converge --runtime swarm`): the orchestrator with
 * RUNTIME=swarm against `docker service create --replicas N` until every task answers, on a
 * one-node swarm (made for the run, and left after it, when the engine is in none).
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import pMap from "p-map";
import { connectDocker } from "../../src/docker/connection.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureSwarm, leaveSwarmIfMade } from "../../test/support/swarm.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import { removeManagedContainers, startTestServer } from "../../test/support/test-server.ts";
import { answers, report, seconds, startRawHttpd, until } from "../support.ts";
import { benchOverlay, containersGone, swarmBaseline } from "./support-swarm.ts";

const instances = Number(process.env.BENCH_INSTANCES ?? 50);
const { runtime } = parseArgs({
  options: { runtime: { type: "string", default: "docker" } },
  strict: false,
}).values;
if (runtime !== "docker" && runtime !== "swarm") {
  throw new Error(`--runtime must be docker or swarm, not ${String(runtime)}`);
}
const docker = connectDocker(process.env.DOCKER_HOST);

async function allAnswer(ports: readonly number[]): Promise<void> {
  await pMap(ports, (port) => until(() => answers(port), 60_000, `port ${port}`), {
    concurrency: 8,
  });
}

/** Raw dockerode: create + start + inspect for the port, 4 at a time, then wait for HTTP. */
async function baseline(): Promise<number> {
  const label = `bench-raw-${randomBytes(3).toString("hex")}`;
  const started = performance.now();
  const ports = await pMap(
    Array.from({ length: instances }, (_, index) => index),
    (index) => startRawHttpd(docker, testImages.httpd, `${label}-${index}`, label),
    { concurrency: 4 },
  );
  await allAnswer(ports);
  const elapsed = performance.now() - started;
  await removeManagedContainers(label);
  return elapsed;
}

async function ours(): Promise<number> {
  const server = await startTestServer({
    env: { LOG_LEVEL: "warn", ...(runtime === "swarm" ? { RUNTIME: "swarm" } : {}) },
  });
  try {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "bench",
        image: testImages.httpd,
        desired_instances: 0,
        max_instances: instances,
        cpu_limit: "0.1",
        memory_limit: "16m",
      },
    });
    // Let the image resolve first, so the clock measures scaling only.
    await until(
      async () =>
        (await server.request("GET", `/api/images/${created.body.id}`)).body.status === "ready",
      30_000,
      "image ready",
    );
    const started = performance.now();
    await server.request("PATCH", `/api/images/${created.body.id}`, {
      body: { desired_instances: instances },
    });
    let ports: number[] = [];
    await until(
      async () => {
        const items = (await server.request("GET", `/api/images/${created.body.id}/containers`))
          .body.items as Array<{ host_port: number | null }>;
        ports = items.map((item) => item.host_port).filter((port): port is number => port !== null);
        return ports.length === instances;
      },
      // Swarm starts 50 tasks in tens of seconds on a busy two-core machine.
      runtime === "swarm" ? 300_000 : 120_000,
      "all instances have ports",
    );
    await allAnswer(ports);
    return performance.now() - started;
  } finally {
    await server.stop();
    if (runtime === "swarm") await containersGone(docker, server.orchestratorId);
  }
}

export async function main(): Promise<number> {
  await ensureBaseImage(docker);
  await ensureTestImages(docker);
  if (runtime === "swarm") return mainOnSwarm();
  const before = await baseline();
  const measured = await ours();
  const after = await baseline();
  const reference = (before + after) / 2;
  const ratio = measured / reference;
  report("converge", {
    instances,
    orchestrator: seconds(measured),
    dockerode_concurrency4: seconds(reference),
    ratio: `${ratio.toFixed(2)}x`,
    goal: "<=1.3x",
  });
  return ratio;
}

async function mainOnSwarm(): Promise<number> {
  const swarm = await ensureSwarm();
  if (!swarm.ok) throw new Error(swarm.reason);
  const overlay = await benchOverlay();
  try {
    const baselines = async () => ({
      plain: await swarmBaseline(docker, testImages.httpd, instances, allAnswer),
      onOverlay: await swarmBaseline(docker, testImages.httpd, instances, allAnswer, overlay.name),
    });
    const before = await baselines();
    const measured = await ours();
    const after = await baselines();
    const reference = (before.plain + after.plain) / 2;
    const onOverlay = (before.onOverlay + after.onOverlay) / 2;
    const ratio = measured / reference;
    report("converge-swarm", {
      instances,
      orchestrator: seconds(measured),
      docker_service_create: seconds(reference),
      ratio: `${ratio.toFixed(2)}x`,
      goal: "<=1.3x",
      // The same, its tasks on an overlay as ours are on the tenant's: the controller's own cost.
      docker_service_create_on_overlay: seconds(onOverlay),
      ratio_same_network: `${(measured / onOverlay).toFixed(2)}x`,
    });
    return ratio;
  } finally {
    await overlay.remove().catch(() => {});
    await leaveSwarmIfMade(swarm.made);
  }
}

if (import.meta.main) await main();
