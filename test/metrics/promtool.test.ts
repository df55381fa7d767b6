import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { useKafkaBroker } from "../support/kafka-broker.ts";
import { hasKafkaMock } from "../support/services.ts";
import { type SpawnedServer, spawnServer } from "../support/spawn-server.ts";

/** promtool comes with Debian's `prometheus` package (.ci/run installs it). */
async function findPromtool(): Promise<string | undefined> {
  try {
    await promisify(execFile)("promtool", ["--version"]);
    return "promtool";
  } catch {
    return undefined;
  }
}

/** `promtool check metrics` on a scrape: its exit code and what it said. */
function promtoolCheck(promtool: string, scrape: string) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(promtool, ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
    child.stdin.end(scrape);
  });
}

const promtool = await findPromtool();
const inCi = process.env.CI === "true";
if (promtool === undefined && !inCi) {
  console.warn(
    "[integration] skipping the promtool lint: promtool is missing (apt-get install prometheus)",
  );
}

describe.runIf(hasKafkaMock() && (promtool !== undefined || inCi))(
  "/metrics of a real server",
  () => {
    const broker = useKafkaBroker();
    const cleanups: Array<() => Promise<void>> = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it("passes `promtool check metrics` and carries the series dashboards look for", async () => {
      if (promtool === undefined) {
        throw new Error("CI=true and promtool is missing: install Debian's prometheus package");
      }
      const dataDir = await mkdtemp(path.join(tmpdir(), "orch-metrics-"));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const token = randomBytes(24).toString("hex");
      const server: SpawnedServer = await spawnServer({
        DATA_DIR: dataDir,
        ORCHESTRATOR_ID: `test-metrics-${randomBytes(4).toString("hex")}`,
        ORCHESTRATOR_ADMIN_TOKEN: token,
        KAFKA_BROKERS: broker().bootstrap,
        KAFKA_TOPIC: `metrics-${randomBytes(4).toString("hex")}`,
        LOG_LEVEL: "warn",
      });
      cleanups.push(async () => {
        server.kill("SIGTERM");
        await server.exited;
      });
      // Requests of several outcomes, so the labelled HTTP histogram has series to lint.
      await fetch(`${server.url}/api/images`);
      await fetch(`${server.url}/api/images`, { headers: { authorization: `Bearer ${token}` } });

      const response = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      const scrape = await response.text();
      const families = [...scrape.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]);
      expect(families).toEqual(
        expect.arrayContaining([
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
          "process_start_time_seconds",
          "nodejs_eventloop_lag_seconds",
          "nodejs_heap_size_used_bytes",
          "nodejs_gc_duration_seconds",
          "orchestrator_http_request_duration_seconds",
          "orchestrator_events_unpublished",
          "orchestrator_event_publish_lag_seconds",
        ]),
      );
      expect(families.filter((name) => /^orchestrator_(process|nodejs)_/.test(name ?? ""))).toEqual(
        [],
      );
      expect(scrape).toMatch(
        /^orchestrator_http_request_duration_seconds_count\{[^}]*status="401"/m,
      );

      const lint = await promtoolCheck(promtool, scrape);
      expect(lint.output).toBe("");
      expect(lint.code).toBe(0);
    });
  },
);
