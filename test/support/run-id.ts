import { randomBytes } from "node:crypto";

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

/** A fresh ORCHESTRATOR_ID for a suite, `{kind}-r{run id}-{random}`: a valid name prefix. */
export function testOrchestratorId(kind: string): string {
  return `${kind}${runMarker()}${randomBytes(3).toString("hex")}`;
}
