/**
 * One apply round trip against per-resource calls: a server holding 500 images (applied from
 * 500 desired-state files), then, in the same run, the wall time of the diff of those 500
 * documents as one `POST /api/apply?dry_run=1` next to 500 single `GET /api/images/{id}` calls
 * (goal: ≥ 10×); and end to end, `orchestrator diff -f` (read and validate the files, the one
 * round trip, the plan) next to reading the same files plus the 500 GETs.
 * Run: `node bench/apply/apply.ts` (BENCH_IMAGES changes the size, BENCH_ROUNDS the repeats).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestDocuments } from "../../src/cli/apply-documents.ts";
import { runCli } from "../../src/cli/run-cli.ts";
import { connectDocker } from "../../src/docker/connection.ts";
import { loadDocuments } from "../../src/gitops/load.ts";
import { ensureBaseImage } from "../../test/support/base-image.ts";
import { ensureTestImages, testImages } from "../../test/support/test-images.ts";
import { startTestServer } from "../../test/support/test-server.ts";
import { median, report, until } from "../support.ts";

const imageCount = Number(process.env.BENCH_IMAGES ?? 500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

function documentOf(index: number): string {
  return [
    "apiVersion: orchestrator/v1",
    "kind: Image",
    "metadata:",
    `  name: app-${String(index).padStart(4, "0")}`,
    "spec:",
    `  image: ${testImages.httpd}`,
    "  tag: latest",
    `  app_hostname: app-${index}.example.com`,
    "  min_instances: 0",
    "  max_instances: 3",
    "  desired_instances: 0",
    '  cpu_limit: "0.1"',
    "  memory_limit: 16m",
    `  env: { INDEX: "${index}", LOG_LEVEL: info }`,
    "",
  ].join("\n");
}

/** Runs the CLI in this process; throws unless it exits with `expected`. */
async function cli(args: string[], env: Record<string, string>, expected: number) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, {
    environment: env,
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    signal: new AbortController().signal,
  });
  if (code !== expected) {
    throw new Error(`orchestrator ${args.join(" ")} exited ${code}: ${err.join("\n")}`);
  }
  return out;
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

export async function main() {
  const docker = connectDocker(process.env.DOCKER_HOST);
  await ensureBaseImage(docker);
  await ensureTestImages(docker);
  const server = await startTestServer({ env: { LOG_LEVEL: "warn" } });
  const folder = await mkdtemp(join(tmpdir(), "bench-apply-"));
  try {
    const env = { ORCHESTRATOR_URL: server.url, ORCHESTRATOR_TOKEN: server.adminToken };
    const files = join(folder, "apps");
    await mkdir(files);
    await Promise.all(
      Array.from({ length: imageCount }, (_, index) =>
        writeFile(join(files, `app-${index}.yaml`), documentOf(index)),
      ),
    );
    await cli(["apply", "-f", files], env, 0);
    const listed = (await server.request("GET", "/api/images")).body.items as Array<{
      id: number;
      generation: number;
      observed_generation: number;
    }>;
    if (listed.length !== imageCount) throw new Error(`expected ${imageCount} images`);
    // Let the controller observe every new image first, so that it does not run alongside.
    await until(
      async () =>
        ((await server.request("GET", "/api/images")).body.items as typeof listed).every(
          (image) => image.observed_generation === image.generation,
        ),
      120_000,
      "every image observed",
    );

    const diff = () => cli(["diff", "-f", files], env, 0);
    const singleGets = async () => {
      for (const image of listed) {
        const response = await fetch(`${server.url}/api/images/${image.id}`, {
          headers: { authorization: `Bearer ${server.adminToken}` },
        });
        if (!response.ok) throw new Error(`GET /api/images/${image.id}: ${response.status}`);
        await response.arrayBuffer();
      }
    };
    const documents = (await loadDocuments([files])).documents;
    const body = JSON.stringify({
      set: "apps",
      documents: requestDocuments(documents, () => undefined),
    });
    const roundTrip = async () => {
      const response = await fetch(`${server.url}/api/apply?dry_run=1`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${server.adminToken}`,
          "content-type": "application/json",
        },
        body,
      });
      const plan = (await response.json()) as { summary: { unchanged: number } };
      if (plan.summary.unchanged !== imageCount)
        throw new Error(`unexpected plan ${JSON.stringify(plan)}`);
    };
    await roundTrip();
    await diff(); // warm-up: module and schema caches, connections
    await singleGets();

    const load = () => loadDocuments([files]);
    const samples = {
      roundTrip: [] as number[],
      gets: [] as number[],
      diff: [] as number[],
      load: [] as number[],
    };
    for (let round = 0; round < rounds; round += 1) {
      samples.roundTrip.push(await timed(roundTrip));
      samples.gets.push(await timed(singleGets));
      samples.diff.push(await timed(diff));
      samples.load.push(await timed(load));
    }
    const roundTripMs = median(samples.roundTrip);
    const getsMs = median(samples.gets);
    const diffMs = median(samples.diff);
    const loadMs = median(samples.load);
    report("apply", {
      images: imageCount,
      apply_round_trip: `${roundTripMs.toFixed(0)} ms`,
      single_gets: `${getsMs.toFixed(0)} ms`,
      ratio: `${(getsMs / roundTripMs).toFixed(1)}x`,
      goal: "≥ 10x",
    });
    // End to end, both sides read and validate the same files first.
    report("apply-cli", {
      cli_diff: `${diffMs.toFixed(0)} ms`,
      of_which_load_files: `${loadMs.toFixed(0)} ms`,
      load_plus_single_gets: `${(loadMs + getsMs).toFixed(0)} ms`,
      ratio: `${((loadMs + getsMs) / diffMs).toFixed(1)}x`,
    });
    return { roundTripMs, getsMs, diffMs, loadMs };
  } finally {
    await rm(folder, { recursive: true, force: true });
    await server.stop();
  }
}

if (import.meta.main) await main();
