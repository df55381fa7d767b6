import { parseArgs } from "node:util";
import { applyRound } from "./apply-round.ts";
import { uploadProgressLine } from "./byte-format.ts";
import { CliError, clientOf } from "./client.ts";
import {
  type CommandIo,
  defaultWaitTimeoutMs,
  parseTimeout,
  printFileErrors,
  requirePaths,
} from "./command-io.ts";
import { resolveSetName } from "./set-name.ts";
import type { UploadDisplay } from "./upload-source.ts";
import { waitForImages, waitTargets } from "./wait-images.ts";
import { summaryLines } from "./wait-progress.ts";
import { watchApply } from "./watch-apply.ts";
import { printWatchReport } from "./watch-report.ts";

export const applyHelp = `Usage: orchestrator apply -f FILE_OR_FOLDER [-f ...] [options]

Applies desired-state files (.yaml/.yml, several documents per file, folders read
recursively) as one set. Every file is validated first: with any error, all errors are
printed as file:line:column and nothing is sent. Folders named by spec.source are packed
and uploaded only when the server does not have that content yet.

Options:
  -f, --filename PATH   a file or folder (repeatable)
      --set NAME        the apply set (default: the name of the first folder given, or of
                        the folder holding the first file)
      --prune           delete the images this set created earlier and no longer names
      --allow-empty     let --prune delete every image of the set
      --dry-run         print the plan, change nothing
      --wait            wait until every applied image is Ready for its new generation;
                        exit 1 at once when one is Degraded (build failed, crash loop)
      --timeout D       how long --wait waits (default 5m; "90s", "10m", "1h")
      --watch           apply again on every change of the files (debounced); Ctrl-C ends.
                        Files are read once settled; a file with no documents (an editor
                        saving in place empties it first) applies nothing and keeps the last
                        applied state: delete a file to prune its images
  -h, --help            show this help

On a terminal, uploads show their progress (bytes, rate) and --wait redraws one line per
image (instances ready of desired, the build step) until all are Ready, then a summary;
piped, each change is one plain line.

Exit status: 0 applied, 1 refused by the server, unreachable, or --wait failed or timed out,
2 bad files or flags.`;

/** Upload progress redrawn on one line of a terminal; nothing on a pipe. */
function uploadDisplay(io: CommandIo): UploadDisplay | undefined {
  if (!io.terminal.tty) return undefined;
  return {
    progress: (name, sent, total, elapsedMs) =>
      io.write(`\r\u001b[2K${uploadProgressLine(name, sent, total, elapsedMs)}`),
    clear: () => io.write("\r\u001b[2K"),
  };
}

export async function applyCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      filename: { type: "string", short: "f", multiple: true },
      set: { type: "string" },
      prune: { type: "boolean" },
      "allow-empty": { type: "boolean" },
      "dry-run": { type: "boolean" },
      wait: { type: "boolean" },
      timeout: { type: "string" },
      watch: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: false,
  });
  if (values.help) {
    io.out(applyHelp);
    return 0;
  }
  const paths = requirePaths(values.filename);
  const timeoutMs = parseTimeout(values.timeout, defaultWaitTimeoutMs);
  if (values.watch && values.wait) throw new CliError("--wait cannot be used with --watch");
  if (values.timeout !== undefined && !values.wait) throw new CliError("--timeout needs --wait");
  const options = {
    paths,
    set: await resolveSetName(values.set, paths),
    prune: values.prune ?? false,
    allowEmpty: values["allow-empty"] ?? false,
    dryRun: values["dry-run"] ?? false,
  };
  const settings = await io.settings();

  if (values.watch) {
    await watchApply(settings, options, (report) => printWatchReport(report, io), io.signal);
    return 0;
  }

  const round = await applyRound(settings, options, io.out, uploadDisplay(io));
  if (!round.ok) {
    printFileErrors(round.errors, io.err);
    return 2;
  }
  if (options.dryRun) {
    io.out("(dry run: nothing was changed)");
    return 0;
  }
  if (values.wait) {
    const targets = waitTargets(round.plan.items);
    const started = Date.now();
    const ended = await waitForImages(
      clientOf(settings),
      targets,
      { timeoutMs, signal: io.signal },
      io,
    );
    if (ended.length > 0)
      for (const line of summaryLines(ended, Date.now() - started)) io.out(line);
    io.out(`${targets.length} ${targets.length === 1 ? "image" : "images"} ready`);
  }
  return 0;
}
