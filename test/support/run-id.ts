import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";

/** CI is set to something truthy (`1`, `true`, `yes`). */
export function ciIsSet(): boolean {
  return /^(1|true|yes)$/i.test(process.env.CI ?? "");
}

/**
 * The id of this test run, set by the global setup (inherited by every worker and server
 * process): everything a suite creates carries it, so the global teardown can tell what this
 * run left behind from what other runs on the same machine own.
 */
export function testRunId(): string {
  return process.env.ORCH_TEST_RUN ?? "run";
}

/** What every name of a run carries: `-r{run id}-`. */
export function runMarker(runId = testRunId()): string {
  return `-r${runId}-`;
}

/**
 * A fresh ORCHESTRATOR_ID for a suite, `{kind}-r{run id}-{random}`: a valid name prefix. The
 * run's register of suites (ORCH_TEST_SUITES, set by the global setup) notes which test file
 * made it, so that the teardown can name the suite whose things were left behind.
 */
export function testOrchestratorId(kind: string): string {
  const id = `${kind}${runMarker()}${randomBytes(3).toString("hex")}`;
  const register = process.env.ORCH_TEST_SUITES;
  if (register !== undefined && register !== "") {
    appendFileSync(register, `${id}\t${callingSuite() ?? "(not a test file)"}\n`);
  }
  return id;
}

/** The test file on the caller's stack, else the one vitest's worker runs now, if any. */
function callingSuite(): string | undefined {
  const onStack = new Error().stack?.match(/\b(test\/[^\s:()]+\.test\.ts)\b/)?.[1];
  if (onStack !== undefined) return onStack;
  const worker = (globalThis as { __vitest_worker__?: { filepath?: string } }).__vitest_worker__;
  return worker?.filepath?.match(/\b(test\/\S+\.test\.ts)$/)?.[1];
}

/**
 * Beside the run's register of suites: the networks a suite's cleanup could not remove because
 * the engine still counted endpoints on them with no container on them (moby #42119, see
 * leftovers.ts), each with the engine's refusal. An engine restart later in the run (the
 * engine-restart suite) clears the count, so by the teardown such a network looks like any
 * other left behind; this register tells them apart.
 */
export function refusedNetworksRegister(
  suitesRegister = process.env.ORCH_TEST_SUITES ?? "",
): string | undefined {
  return suitesRegister === "" ? undefined : `${suitesRegister}.refused-networks`;
}

/** Notes in the run's register that the engine refused to remove this empty network. */
export function recordRefusedNetwork(name: string, refusal: string): void {
  const register = refusedNetworksRegister();
  if (register !== undefined)
    appendFileSync(register, `${name}\t${refusal.replaceAll(/\s+/g, " ")}\n`);
}

/** The register's lines as id → test file (or, for refusedNetworksRegister, name → refusal). */
export function parseSuitesRegister(text: string): Map<string, string> {
  const suites = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [id, suite] = line.split("\t");
    if (id !== undefined && suite !== undefined && id !== "") suites.set(id, suite);
  }
  return suites;
}
