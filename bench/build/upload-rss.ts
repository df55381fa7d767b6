/**
 * Memory of an upload: the service's peak RSS while it receives, checks and extracts a 200 MiB
 * upload (multipart, streamed from disk by the client), next to the RSS of the same service idle
 * in the same run, as a ratio. Goal: peak under 150 MiB (flat whatever the size).
 *
 * Run: `node bench/build/upload-rss.ts`. The service runs as its own process (`src/main.ts`),
 * on a scratch database of the Postgres server at BENCH_DATABASE_URL (default: the test
 * server) when it answers, else on the embedded database (whose WebAssembly heap alone is
 * several hundred MiB). BENCH_UPLOAD_MIB changes the size.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import tarStream from "tar-stream";
import { report, until } from "../support.ts";

const uploadMiB = Number(process.env.BENCH_UPLOAD_MIB ?? 200);
const goalMiB = 150;
const defaultDatabaseUrl =
  "postgres://orchestrator_test:orchestrator_test@127.0.0.1:5432/orchestrator_test";
const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const MiB = 1024 * 1024;

/** A tar of `uploadMiB` of random files, whose .dockerignore keeps the build context tiny. */
async function writeUpload(file: string): Promise<void> {
  const pack = tarStream.pack();
  const written = (async () => {
    const out = createWriteStream(file);
    pack.pipe(out);
    await once(out, "finish");
  })();
  const add = (name: string, content: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, size: content.length }, content, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  await add("Dockerfile", Buffer.from("FROM scratch\nLABEL bench=upload-rss\n"));
  await add(".dockerignore", Buffer.from("*\n!Dockerfile\n"));
  const chunkMiB = 8;
  for (let index = 0; index * chunkMiB < uploadMiB; index += 1) {
    await add(
      `data/part-${index}.bin`,
      randomBytes(Math.min(chunkMiB, uploadMiB - index * chunkMiB) * MiB),
    );
  }
  pack.finalize();
  await written;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A scratch database on the server, or undefined when no server answers. */
async function scratchDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const baseUrl = process.env.BENCH_DATABASE_URL ?? defaultDatabaseUrl;
  const name = `orch_bench_${randomBytes(4).toString("hex")}`;
  const admin = postgres(baseUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch {
    return undefined;
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await client.unsafe(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** Resident memory of a process, and its peak since the last reset (Linux /proc). */
async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rss: kib("VmRSS") * 1024, hwm: kib("VmHWM") * 1024 };
}

/** Resets the peak RSS (VmHWM) of a process; false when the kernel does not allow it. */
async function resetPeak(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** POST /api/images as multipart/form-data, the file streamed from disk with a known length. */
async function upload(
  url: string,
  token: string,
  name: string,
  file: string,
): Promise<{ status: number; body: any }> {
  const boundary = `----bench${randomBytes(8).toString("hex")}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n${name}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="desired_instances"\r\n\r\n0\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="app.tar"\r\n` +
      "Content-Type: application/x-tar\r\n\r\n",
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const size = (await stat(file)).size;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL("/api/images", url),
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": String(head.length + size + tail.length),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.write(head);
    const stream = createReadStream(file, { highWaterMark: MiB });
    stream.pipe(req, { end: false });
    stream.on("end", () => req.end(tail));
    stream.on("error", reject);
  });
}

async function call(url: string, token: string, method: string, path: string) {
  const response = await fetch(new URL(path, url), {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as any };
}

export async function main(): Promise<void> {
  const scratch = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), "bench-upload-"));
  const database = await scratchDatabase();
  let child: ChildProcess | undefined;
  try {
    const big = join(scratch, "big.tar");
    const small = join(scratch, "small.tar");
    await writeUpload(big);
    const port = await freePort();
    const id = `bench-${randomBytes(3).toString("hex")}`;
    const url = `http://127.0.0.1:${port}`;
    const adminToken = `bench-${randomBytes(16).toString("hex")}`;
    child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "src/main.ts"], {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        PORT: String(port),
        HOST: "127.0.0.1",
        DATA_DIR: join(scratch, "data"),
        BUILD_CONTEXT_BASE_DIR: join(scratch, "contexts"),
        ORCHESTRATOR_ID: id,
        IMAGE_NAME_PREFIX: id,
        LOG_LEVEL: "warn",
        ORCHESTRATOR_ADMIN_TOKEN: adminToken,
        UPLOAD_MAX_BYTES: String((uploadMiB + 16) * MiB),
        ...(database === undefined ? {} : { DATABASE_URL: database.url }),
        ...(process.env.DOCKER_HOST === undefined ? {} : { DOCKER_HOST: process.env.DOCKER_HOST }),
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const pid = child.pid ?? 0;
    await until(
      async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true,
      60_000,
      "service up",
    );
    const token = adminToken;

    // Warm up the upload path once with a small archive (code loaded, buffers allocated).
    const savedMiB = uploadMiB;
    await writeUploadSmall(small);
    const warm = await upload(url, token, "warm-up", small);
    if (warm.status !== 202) throw new Error(`warm-up upload: ${JSON.stringify(warm.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    let idle = 0;
    for (let sample = 0; sample < 10; sample += 1) {
      idle = Math.max(idle, (await memoryOf(pid)).rss);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const peakReset = await resetPeak(pid);
    let sampled = 0;
    const sampler = setInterval(() => {
      memoryOf(pid).then(
        (memory) => {
          sampled = Math.max(sampled, memory.rss);
        },
        () => {},
      );
    }, 10);
    const started = performance.now();
    const answer = await upload(url, token, "big", big);
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (answer.status !== 202)
      throw new Error(`upload: ${answer.status} ${JSON.stringify(answer.body)}`);
    const peak = Math.max(sampled, peakReset ? (await memoryOf(pid)).hwm : 0);

    report("build/upload-rss", {
      upload: `${savedMiB} MiB multipart`,
      database: database === undefined ? "embedded" : "postgres",
      seconds: seconds.toFixed(2),
      throughput: `${(savedMiB / seconds).toFixed(0)} MiB/s`,
      idle_rss: `${(idle / MiB).toFixed(0)} MiB`,
      peak_rss: `${(peak / MiB).toFixed(0)} MiB`,
      growth: `${((peak - idle) / MiB).toFixed(0)} MiB`,
      ratio: (peak / idle).toFixed(2),
      goal: `peak < ${goalMiB} MiB (${peak / MiB < goalMiB ? "met" : "missed"})`,
      peak_from: peakReset ? "VmHWM after reset" : "VmRSS sampled every 10 ms",
    });

    // Leave nothing: the images (their builds and kept sources) go through the API.
    for (const image of (await call(url, token, "GET", "/api/images")).body.items) {
      await call(url, token, "DELETE", `/api/images/${image.id}`);
    }
    await until(
      async () => (await call(url, token, "GET", "/api/images")).body.items.length === 0,
      60_000,
      "images deleted",
    );
  } finally {
    if (child !== undefined && child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A 1 MiB archive of the same shape, for the warm-up. */
async function writeUploadSmall(file: string): Promise<void> {
  const pack = tarStream.pack();
  const out = createWriteStream(file);
  pack.pipe(out);
  pack.entry({ name: "Dockerfile" }, "FROM scratch\nLABEL bench=warm-up\n");
  pack.entry({ name: ".dockerignore" }, "*\n!Dockerfile\n");
  pack.entry({ name: "data/warm.bin" }, randomBytes(MiB));
  pack.finalize();
  await once(out, "finish");
}

if (import.meta.main) {
  await main();
}
