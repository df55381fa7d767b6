import type { CommandIo } from "./command-io.ts";
import type { WatchReport } from "./watch-apply.ts";

function clock(now: Date): string {
  return now.toISOString().slice(11, 19);
}

/** One round of `apply --watch` on the terminal: a timestamped header, then the plan or the errors. */
export function printWatchReport(
  report: WatchReport,
  io: Pick<CommandIo, "out" | "err">,
  now: Date = new Date(),
): void {
  if (report.kind === "applied") {
    io.out(`[${clock(now)}] applied set ${report.set}`);
    for (const line of report.lines) io.out(line);
  } else if (report.kind === "invalid") {
    io.err(`[${clock(now)}] set ${report.set}: files have errors; nothing was applied`);
    for (const line of report.errors) io.err(line);
  } else {
    io.err(`[${clock(now)}] set ${report.set}: orchestrator: ${report.message}`);
  }
}
