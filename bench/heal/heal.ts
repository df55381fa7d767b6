/**
 * Healing speed: 5 instances serve HTTP; one container is killed (SIGKILL) behind the
 * controller's back; the clock stops when all 5 answer again. The baseline, in the same run, is
 * the engine's floor for the same work: kill a container and `docker start` it at once until it
 * answers HTTP. Median of BENCH_ROUNDS (5) each; goal ≤ 1 s, printed with the ratio.
 * Run: `node bench/heal/heal.ts`.
 */
import { randomBytes } from "node:crypto";
import { connectDocker } from "../../src/docker/connection.ts";
import { hardenedCreateOptions } from "../../src/docker/create-container.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import { removeManagedContainers, startTestServer } from "../../test/support/test-server.ts";
import { answers, median, report, seconds, until } from "../support.ts";

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const instanceCount = 5;
const docker = connectDocker(process.env.DOCKER_HOST);

/**
 * The engine's floor: kill a container made as the orchestrator makes them (the same hardened
 * options, on a bridge network of its own), start it again at once, until it answers.
 */
async function baseline(): Promise<number[]> {
  const label = `bench-heal-raw-${randomBytes(3).toString("hex")}`;
  await docker.createNetwork({ Name: label, Labels: { "managed-by": label } });
  const container = await docker.createContainer(
    hardenedCreateOptions(
      {
        name: label,
        image: testImages.httpd,
        env: {},
        labels: { "managed-by": label },
        containerPort: 8080,
        publishIp: "127.0.0.1",
        nanoCpus: 100_000_000,
        memoryBytes: 16 * 1024 * 1024,
        network: { name: label, labels: { "managed-by": label } },
        pidsLimit: 256,
        openFilesLimit: 4096,
        diskLimit: undefined,
      },
      { diskLimit: false },
    ),
  );
  const times: number[] = [];
  try {
    await container.start();
    for (let round = 0; round < rounds; round++) {
      const port = Number(
        (await container.inspect()).NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort,
      );
      await until(() => answers(port), 30_000, "raw container answers");
      const started = performance.now();
      await container.kill();
      await container.start();
      const again = Number(
        (await container.inspect()).NetworkSettings.Ports["8080/tcp"]?.[0]?.HostPort,
      );
      await until(() => answers(again), 30_000, "raw container answers again");
      times.push(performance.now() - started);
    }
  } finally {
    await removeManagedContainers(label);
    // removeManagedContainers removes its networks too; make sure.
    await docker
      .getNetwork(label)
      .remove()
      .catch(() => {});
  }
  return times;
}

type Instance = { id: string; container_id: string | null; host_port: number | null };

async function ours(): Promise<number[]> {
  const server = await startTestServer({
    env: { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn" },
  });
  const times: number[] = [];
  try {
    const created = await server.request("POST", "/api/images", {
      body: {
        name: "heal",
        image: testImages.httpd,
        desired_instances: instanceCount,
        cpu_limit: "0.1",
        memory_limit: "16m",
      },
    });
    const instances = async () =>
      (await server.request("GET", `/api/images/${created.body.id}/containers`)).body
        .items as Instance[];
    /** All instances have a container and a port, and every port answers. */
    const allServe = async (killed?: string) => {
      const items = await instances();
      if (items.length !== instanceCount) return false;
      if (items.some((item) => item.host_port === null || item.container_id === null)) return false;
      const answered = await Promise.all(items.map((item) => answers(item.host_port as number)));
      if (!answered.every(Boolean)) return false;
      if (killed === undefined) return true;
      const state = await docker
        .getContainer(killed)
        .inspect()
        .catch(() => undefined);
      return state === undefined || state.State.Running;
    };
    await until(() => allServe(), 60_000, "all instances serve");
    for (let round = 0; round < rounds; round++) {
      const victim = (await instances())[round % instanceCount]?.container_id;
      if (victim === null || victim === undefined) throw new Error("no container to kill");
      const started = performance.now();
      await docker.getContainer(victim).kill();
      await until(() => allServe(victim), 60_000, "all instances serve again");
      times.push(performance.now() - started);
    }
  } finally {
    await server.stop();
  }
  return times;
}

export async function main(): Promise<number> {
  await ensureBaseImage(docker);
  await ensureTestImages(docker);
  const floor = await baseline();
  const measured = await ours();
  const ratio = median(measured) / median(floor);
  report("heal", {
    instances: instanceCount,
    rounds,
    orchestrator_median: seconds(median(measured)),
    orchestrator_all: measured.map((value) => seconds(value)).join(" "),
    kill_and_start_floor: seconds(median(floor)),
    ratio: `${ratio.toFixed(2)}x`,
    goal: "<=1 s",
  });
  return ratio;
}

if (import.meta.main) await main();
