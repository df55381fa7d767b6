/**
 * Rollout cost: 20 instances move to a new spec (an env change). Ours: a zero-downtime rollout
 * (`max_unavailable: 0`, `max_surge: 25%`: new instances start first, old ones go as new ones
 * are ready). Baseline, in the same run and on the same controller: stop all (scale to 0 and
 * wait), then start all on the new spec. Each prints the time from the first PATCH until all 20
 * answer on the new spec, and the smallest number of instances answering HTTP meanwhile
 * (sampled every 100 ms, each sample probing every listed instance).
 * Run: `npm run bench -- rollout` (BENCH_INSTANCES to change the 20).
 */
import { connectDocker } from "../../src/docker/connection.ts";
import { labelKeys } from "../../src/domain/labels.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import { startTestServer, type TestServer } from "../../test/support/test-server.ts";
import { answers, report, seconds, until } from "../support.ts";

const instanceCount = Number(process.env.BENCH_INSTANCES ?? 20);
const docker = connectDocker(process.env.DOCKER_HOST);

type Instance = { id: string; container_id: string | null; host_port: number | null };

/**
 * `rolling`: one PATCH of the env, rolled within `rollout`. `stopAll`: scale to 0, wait until no
 * container is left, then the new env at the full count (the same controller, both ways).
 */
async function roll(
  server: TestServer,
  name: string,
  rollout: Record<string, unknown>,
  stopAll = false,
): Promise<{ ms: number; minServing: number; samples: number }> {
  const created = await server.request("POST", "/api/images", {
    body: {
      name,
      image: testImages.httpd,
      desired_instances: instanceCount,
      max_instances: instanceCount + Math.ceil(instanceCount / 4),
      cpu_limit: "0.05",
      memory_limit: "16m",
      rollout: { min_ready: "1s", progress_deadline: "10m", ...rollout },
    },
  });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
  const imageId = created.body.id as number;
  const instances = async () =>
    (await server.request("GET", `/api/images/${imageId}/containers`)).body.items as Instance[];
  const serving = async () => {
    const ports = (await instances()).flatMap((item) =>
      item.host_port === null ? [] : [item.host_port],
    );
    return (await Promise.all(ports.map((port) => answers(port)))).filter(Boolean).length;
  };
  const hashes = async () =>
    (
      await docker.listContainers({
        all: true,
        filters: {
          label: [
            `${labelKeys.managedBy}=${server.orchestratorId}`,
            `${labelKeys.imageId}=${imageId}`,
          ],
        },
      })
    ).map((container) => container.Labels[labelKeys.specHash]);
  await until(async () => (await serving()) === instanceCount, 300_000, `${name}: all serve`);
  const oldHash = (await hashes())[0];

  let sampling = true;
  let minServing = instanceCount;
  let samples = 0;
  const sampler = (async () => {
    while (sampling) {
      const count = await serving();
      if (sampling) {
        minServing = Math.min(minServing, count);
        samples += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const started = performance.now();
  const patch = async (body: Record<string, unknown>) => {
    const patched = await server.request("PATCH", `/api/images/${imageId}`, { body });
    if (patched.status !== 200) throw new Error(JSON.stringify(patched.body));
  };
  if (stopAll) {
    await patch({ desired_instances: 0, min_instances: 0 });
    await until(async () => (await hashes()).length === 0, 300_000, `${name}: all stopped`);
    await patch({ env: { VERSION: "2" }, desired_instances: instanceCount });
  } else {
    await patch({ env: { VERSION: "2" } });
  }
  await until(
    async () => {
      const current = await hashes();
      return (
        current.length === instanceCount &&
        current.every((hash) => hash !== oldHash) &&
        (await serving()) === instanceCount
      );
    },
    600_000,
    `${name}: all serve the new spec`,
  );
  const ms = performance.now() - started;
  sampling = false;
  await sampler;
  await server.request("DELETE", `/api/images/${imageId}`);
  await until(async () => (await hashes()).length === 0, 120_000, `${name}: deleted`);
  return { ms, minServing, samples };
}

export async function main(): Promise<number> {
  await ensureBaseImage(docker);
  await ensureTestImages(docker);
  const server = await startTestServer({
    env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn" },
  });
  try {
    const baseline = await roll(server, "stop-all", {}, true);
    const ours = await roll(server, "rolling", { max_surge: "25%", max_unavailable: 0 });
    const ratio = ours.ms / baseline.ms;
    report("rollout", {
      instances: instanceCount,
      rolling: seconds(ours.ms),
      rolling_min_serving: `${ours.minServing}/${instanceCount}`,
      stop_all_then_start_all: seconds(baseline.ms),
      stop_all_min_serving: `${baseline.minServing}/${instanceCount}`,
      samples: `${ours.samples}+${baseline.samples}`,
      ratio: `${ratio.toFixed(2)}x`,
      goal: `min serving ${instanceCount} while rolling`,
    });
    return ratio;
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await main();
