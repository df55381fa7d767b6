import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { connectDocker } from "../../src/docker/connection.ts";
import { ensureBaseImage, testBaseImage } from "./base-image.ts";
import { findLeftovers } from "./leftovers.ts";
import { ciIsSet } from "./run-id.ts";
import { ensureTestImages } from "./test-images.ts";

const execute = promisify(execFile);

declare module "vitest" {
  export interface ProvidedContext {
    services: TestServices;
  }
}

/** What the integration suites can use; a missing service is a reason instead of a value. */
export type TestServices = {
  readonly docker: { ok: true; baseImage: string } | { ok: false; reason: string };
  readonly postgres: { ok: true; url: string } | { ok: false; reason: string };
  readonly kafkaMock: { ok: true; binary: string } | { ok: false; reason: string };
};

const defaultPostgresUrl =
  "postgres://orchestrator_test:orchestrator_test@127.0.0.1:5432/orchestrator_test";
const mockSource = fileURLToPath(new URL("./kafka-mock.c", import.meta.url));
const mockBinary = fileURLToPath(new URL("./kafka-mock", import.meta.url));

async function checkDocker(): Promise<TestServices["docker"]> {
  const docker = connectDocker(process.env.DOCKER_HOST);
  try {
    await docker.ping();
  } catch (error) {
    return {
      ok: false,
      reason: `no Docker engine (${(error as Error).message}): start dockerd, or set DOCKER_HOST`,
    };
  }
  try {
    await ensureBaseImage(docker);
    await ensureTestImages(docker);
    return { ok: true, baseImage: testBaseImage };
  } catch (error) {
    return { ok: false, reason: `test images: ${(error as Error).message}` };
  }
}

async function checkPostgres(): Promise<TestServices["postgres"]> {
  const url = process.env.TEST_DATABASE_URL ?? defaultPostgresUrl;
  try {
    const { default: postgres } = await import("postgres");
    const client = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    await client`select 1`;
    await client.end();
    return { ok: true, url };
  } catch (error) {
    return {
      ok: false,
      reason: `no Postgres server at TEST_DATABASE_URL (${(error as Error).message}): start one and create the role and database as .ci/run does`,
    };
  }
}

async function checkKafkaMock(): Promise<TestServices["kafkaMock"]> {
  const binary = process.env.KAFKA_MOCK_BIN ?? mockBinary;
  try {
    const [source, built] = await Promise.all([
      stat(mockSource),
      stat(binary).catch(() => undefined),
    ]);
    if (built === undefined || built.mtimeMs < source.mtimeMs) {
      await execute("gcc", [mockSource, "-o", binary, "-lrdkafka"]);
    }
    return { ok: true, binary };
  } catch (error) {
    return {
      ok: false,
      reason: `no Kafka mock broker (${(error as Error).message.split("\n")[0]}): apt-get install gcc librdkafka-dev`,
    };
  }
}

/**
 * Checks once per run, whichever project asks first: the projects share this process, but each
 * may load this module anew, so the run's state lives on the process.
 */
const run = globalThis as typeof globalThis & {
  orchestratorTestRun?: { checked: Promise<TestServices>; teardowns: number };
};

/**
 * Finds (and prepares) the real services the integration suites run against. With CI set a
 * missing service fails the run here, loudly; elsewhere the suites that need it skip, and one
 * line per missing service says how to enable it.
 *
 * It also gives the run an id (ORCH_TEST_RUN, carried by every ORCHESTRATOR_ID the suites
 * make) and a temporary folder of its own (TMPDIR), inherited by the workers and the servers
 * they start. At the end, the teardown fails the run when anything of it is left behind:
 * containers, images, networks, volumes, or files in that folder, each named with the suite
 * that made it. A network no container is on that the engine refuses to remove for endpoints
 * it still counts (an engine defect, see findLeftovers) is reported, not failed: nothing of
 * the run is on it, and nothing but an engine restart removes it. So is one its suite's
 * cleanup met that refusal for (refusedNetworksRegister), though the engine-restart suite has
 * cleared the count by then.
 */
export default async function setup(project: TestProject) {
  if (run.orchestratorTestRun === undefined) {
    process.env.ORCH_TEST_RUN ??= randomBytes(2).toString("hex");
    // Beside the run's folder, not in it: what is in it at the end is reported as left behind.
    process.env.ORCH_TEST_SUITES = path.join(
      tmpdir(),
      `orch-run-${process.env.ORCH_TEST_RUN}-suites.tsv`,
    );
    process.env.TMPDIR = mkdtempSync(path.join(tmpdir(), `orch-run-${process.env.ORCH_TEST_RUN}-`));
    // The service and the CLI cache compiled code under TMPDIR (enableCompileCache): not in
    // the processes the suites start, which would leave that cache behind in the run's folder.
    process.env.NODE_DISABLE_COMPILE_CACHE = "1";
    const checked = (async () => {
      const [docker, postgres, kafkaMock] = await Promise.all([
        checkDocker(),
        checkPostgres(),
        checkKafkaMock(),
      ]);
      const services: TestServices = { docker, postgres, kafkaMock };
      const missing = Object.values(services)
        .filter((service): service is { ok: false; reason: string } => !service.ok)
        .map((service) => service.reason);
      if (missing.length > 0 && ciIsSet()) {
        throw new Error(`CI is set and services are missing:\n  ${missing.join("\n  ")}`);
      }
      for (const reason of missing) console.warn(`[integration] skipping what needs: ${reason}`);
      return services;
    })();
    run.orchestratorTestRun = { checked, teardowns: 0 };
  }
  const state = run.orchestratorTestRun;
  project.provide("services", await state.checked);
  state.teardowns += 1;

  return async function teardown() {
    state.teardowns -= 1;
    if (state.teardowns > 0) return; // the last project to finish checks for the whole run
    const { leftovers, engineDefects } = await findLeftovers(
      process.env.ORCH_TEST_RUN ?? "",
      process.env.TMPDIR ?? "",
      process.env.ORCH_TEST_SUITES ?? "",
    );
    for (const defect of engineDefects) {
      console.warn(
        `[integration] the engine keeps a network no container is on (restart dockerd to clear it): ${defect}`,
      );
    }
    if (leftovers.length > 0) {
      process.exitCode = 1;
      throw new Error(
        `the test run left these behind (each suite must remove what it creates):\n  ${leftovers.join("\n  ")}`,
      );
    }
  };
}
