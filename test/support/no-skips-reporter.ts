import type { Reporter, TestModule } from "vitest/node";
import { ciIsSet } from "./run-id.ts";

/**
 * With CI set (to anything truthy: `1`, `true`), a skipped test fails the run: CI provisions
 * every service, so a skip there can only hide something. Elsewhere skips are fine (a newcomer
 * without a Postgres server, say), and each missing service says once how to enable it.
 */
export default class NoSkipsUnderCi implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (!ciIsSet()) return;
    const skipped: string[] = [];
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests()) {
        if (test.result().state === "skipped")
          skipped.push(`${testModule.moduleId} > ${test.fullName}`);
      }
    }
    if (skipped.length === 0) return;
    console.error(
      `\nCI is set and ${skipped.length} test(s) were skipped:\n  ${skipped.join("\n  ")}\n`,
    );
    process.exitCode = 1;
  }
}
