import { formatFileError } from "../gitops/file-error.ts";
import { countPlan } from "../gitops/plan-format.ts";
import { type ApplyRoundOptions, applyRound } from "./apply-round.ts";
import { CliError, type ClientSettings } from "./client.ts";
import { loadSettled } from "./settled-load.ts";
import { watchFolders } from "./watch-folder.ts";

/** What one round of a watch did, for the CLI to print or the service to log. */
export type WatchReport =
  | {
      readonly kind: "applied";
      readonly set: string;
      readonly lines: readonly string[];
      readonly counts: ReturnType<typeof countPlan>;
    }
  | { readonly kind: "invalid"; readonly set: string; readonly errors: readonly string[] }
  | { readonly kind: "failed"; readonly set: string; readonly message: string };

export type WatchApplyOptions = ApplyRoundOptions & { readonly debounceMs?: number };

/**
 * Applies the files now and again after every change of the watched paths (debounced), one
 * round at a time: a change during a round runs another round after it. A round with bad files
 * applies nothing and reports the errors; the next good edit applies. A file being written (still
 * changing, or empty: an editor truncates before it writes) is a bad file too, so a half-written
 * file never prunes. Resolves when `signal` aborts.
 */
export async function watchApply(
  settings: ClientSettings,
  options: WatchApplyOptions,
  report: (report: WatchReport) => void,
  signal: AbortSignal,
): Promise<void> {
  const { set } = options;
  const round = async () => {
    const lines: string[] = [];
    try {
      // Files read once settled, and never an empty one: see loadSettled.
      const result = await applyRound(settings, { ...options, load: loadSettled }, (line) =>
        lines.push(line),
      );
      if (!result.ok) report({ kind: "invalid", set, errors: result.errors.map(formatFileError) });
      else report({ kind: "applied", set, lines, counts: countPlan(result.plan) });
    } catch (error) {
      const message =
        error instanceof CliError ? error.message : `unexpected: ${(error as Error).message}`;
      report({ kind: "failed", set, message });
    }
  };

  let running: Promise<void> | undefined;
  let again = false;
  const trigger = () => {
    if (signal.aborted) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await round();
      } while (again && !signal.aborted);
      running = undefined;
    })();
  };

  const watcher = await watchFolders(options.paths, trigger, {
    ...(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs }),
    onError: (error) => report({ kind: "failed", set, message: `watch: ${error.message}` }),
  });
  trigger();
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  watcher.close();
  await running;
}
