import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { connectDocker } from "../../src/docker/connection.ts";
import { ensureBaseImage, testBaseImage } from "./base-image.ts";
import { ensureTestImages } from "./test-images.ts";

const run = promisify(execFile);

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
  try {
    const docker = connectDocker(process.env.DOCKER_HOST);
    await docker.ping();
    await ensureBaseImage(docker);
    await ensureTestImages(docker);
    return { ok: true, baseImage: testBaseImage };
  } catch (error) {
    return { ok: false, reason: `Docker engine: ${(error as Error).message}` };
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
      reason: `Postgres server at TEST_DATABASE_URL: ${(error as Error).message}`,
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
      await run("gcc", [mockSource, "-o", binary, "-lrdkafka"]);
    }
    return { ok: true, binary };
  } catch (error) {
    return {
      ok: false,
      reason: `Kafka mock broker (needs gcc and librdkafka-dev): ${(error as Error).message}`,
    };
  }
}

/**
 * Finds (and prepares) the real services the integration suites run against. With CI=true a
 * missing service fails the run here, loudly; elsewhere the suites that need it are skipped.
 */
export default async function setup(project: TestProject): Promise<void> {
  const [docker, postgres, kafkaMock] = await Promise.all([
    checkDocker(),
    checkPostgres(),
    checkKafkaMock(),
  ]);
  const services: TestServices = { docker, postgres, kafkaMock };
  const missing = Object.values(services)
    .filter((service): service is { ok: false; reason: string } => !service.ok)
    .map((service) => service.reason);
  if (missing.length > 0 && process.env.CI === "true") {
    throw new Error(`CI=true and services are missing:\n  ${missing.join("\n  ")}`);
  }
  for (const reason of missing) console.warn(`[integration] skipping suites that need: ${reason}`);
  project.provide("services", services);
}
