/**
 * Extraction throughput: `extractArchive` against `tar -xzf` and `unzip -q` on the same
 * ~100 MiB, 10,000-file archive, in the same run. Prints one line per format with the median
 * time of each and their ratio (goal: at most 2x). Run: `node bench/build/extract.ts`
 * (BENCH_ROUNDS, BENCH_FILES and BENCH_FILE_KIB change the size; BENCH_DIR the disk used).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import yazl from "yazl";
import { extractArchive } from "../../src/archive/extract-archive.ts";

const run = promisify(execFile);

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const fileCount = Number(process.env.BENCH_FILES ?? 10_000);
const fileBytes = Number(process.env.BENCH_FILE_KIB ?? 10) * 1024;
const goal = 2;
const limits = { maxBytes: 1024 ** 3, maxEntries: 20_000 };

type Measurement = {
  readonly format: string;
  readonly ours: number;
  readonly theirs: number;
  readonly tool: string;
  readonly peakRssMiB: number;
};

/** Source-like content: hex text, so it compresses about as well as code does (~2x). */
async function writeSourceTree(dir: string): Promise<void> {
  const perFolder = 100;
  for (let index = 0; index < fileCount; index += 1) {
    const folder = join(dir, `pkg${Math.floor(index / perFolder)}`);
    if (index % perFolder === 0) await mkdir(folder, { recursive: true });
    await writeFile(join(folder, `file${index}.txt`), randomBytes(fileBytes / 2).toString("hex"));
  }
  await writeFile(join(dir, "Dockerfile"), "FROM busybox\nCOPY . /app\n");
}

async function makeZip(sourceDir: string, zipPath: string): Promise<void> {
  const zip = new yazl.ZipFile();
  zip.addFile(join(sourceDir, "Dockerfile"), "app/Dockerfile");
  for (let index = 0; index < fileCount; index += 1) {
    const relative = `pkg${Math.floor(index / 100)}/file${index}.txt`;
    zip.addFile(join(sourceDir, relative), `app/${relative}`);
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipPath));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/** Runs ours and theirs alternately on fresh folders; returns the medians and ours' peak RSS. */
async function compare(
  format: string,
  archive: string,
  scratch: string,
  tool: string,
  theirs: (archive: string, into: string) => Promise<unknown>,
): Promise<Measurement> {
  const ourTimes: number[] = [];
  const theirTimes: number[] = [];
  let peakRss = 0;
  for (let round = 0; round < rounds; round += 1) {
    const ourDir = join(scratch, `ours-${format}-${round}`);
    const theirDir = join(scratch, `theirs-${format}-${round}`);
    await mkdir(theirDir);
    const baseline = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss() - baseline);
    }, 5);
    ourTimes.push(await timed(() => extractArchive(archive, ourDir, limits)));
    clearInterval(sampler);
    theirTimes.push(await timed(() => theirs(archive, theirDir)));
    await Promise.all([rm(ourDir, { recursive: true }), rm(theirDir, { recursive: true })]);
  }
  return {
    format,
    ours: median(ourTimes),
    theirs: median(theirTimes),
    tool,
    peakRssMiB: peakRss / 1024 ** 2,
  };
}

function describe(measurement: Measurement, archiveBytes: number, treeBytes: number): string {
  const ratio = measurement.ours / measurement.theirs;
  return [
    `extract ${measurement.format}:`,
    `${fileCount} files, ${(treeBytes / 1024 ** 2).toFixed(0)} MiB`,
    `(archive ${(archiveBytes / 1024 ** 2).toFixed(0)} MiB);`,
    `extractArchive ${measurement.ours.toFixed(0)} ms,`,
    `${measurement.tool} ${measurement.theirs.toFixed(0)} ms,`,
    `ratio ${ratio.toFixed(2)} (goal <= ${goal}, ${ratio <= goal ? "met" : "missed"});`,
    `RSS growth ${measurement.peakRssMiB.toFixed(0)} MiB;`,
    `median of ${rounds}`,
  ].join(" ");
}

export async function main(): Promise<void> {
  const scratch = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), "bench-extract-"));
  try {
    const source = join(scratch, "source");
    await writeSourceTree(source);
    const treeBytes = fileCount * fileBytes;
    const tarGz = join(scratch, "upload.tar.gz");
    const zipFile = join(scratch, "upload.zip");
    // The same tree as GitHub would serve it: one top-level folder.
    await run("tar", ["-czf", tarGz, "--transform", "s,^\\.,app,", "-C", source, "."]);
    await makeZip(source, zipFile);
    await rm(source, { recursive: true });

    const results = [
      {
        measurement: await compare("tar.gz", tarGz, scratch, "tar -xzf", (archive, into) =>
          run("tar", ["-xzf", archive, "-C", into]),
        ),
        archiveBytes: (await stat(tarGz)).size,
      },
      {
        measurement: await compare("zip", zipFile, scratch, "unzip -q", (archive, into) =>
          run("unzip", ["-q", archive, "-d", into]),
        ),
        archiveBytes: (await stat(zipFile)).size,
      },
    ];
    for (const { measurement, archiveBytes } of results) {
      console.log(describe(measurement, archiveBytes, treeBytes));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
